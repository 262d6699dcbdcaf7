/**
 * The shared state of every function, on one DynamoDB table (see
 * docs/state-model.md for what lives here and which guarantee needs it).
 * Built lazily: nothing connects at module load, and the first call of a
 * store opens the one keep-alive connection to DynamoDB.
 */
import type { ReplayStore } from '../auth/replay.js'
import type { RateLimiter } from '../limits/rate-limiter.js'
import type { OwnershipStore } from '../tokens/ownership.js'
import { createDynamoDb, credentialsFromEnv, type DynamoDb, type Operation } from './dynamodb.js'
import { createDynamoIdempotencyStore, type IdempotencyStore } from './idempotency.js'
import { createDynamoLeaseManager, type LeaseManager, type LeaseOptions } from './lease.js'
import { createDynamoOwnershipStore } from './ownership.js'
import { createDynamoReplayStore } from './replay.js'
import { RATE_LIMITS, createSharedRateLimiter, withLocalDenials, type SharedRateLimitOptions } from './rate-limit.js'
import type { StateTable } from './table.js'
import { createDynamoWatermarkStore, type WatermarkStore } from './watermarks.js'

export { StateUnavailableError } from './dynamodb.js'
export { LeaseBusyError, LeaseLostError } from './lease.js'
export type { IdempotencyStore } from './idempotency.js'
export type { Lease, LeaseManager } from './lease.js'
export type { WatermarkStore } from './watermarks.js'

export interface StateConfig {
  tableName: string
  region: string
  /** Only for DynamoDB-compatible endpoints off AWS (dynalite locally). */
  endpoint?: string
  /** Per call (STATE_TABLE_TIMEOUT_MS). Default 2 s; a local dynalite on a loaded machine needs more. */
  timeoutMs?: number
}

export interface SharedState {
  readonly table: StateTable
  replay(): ReplayStore
  ownership(): OwnershipStore
  rateLimiter(options: SharedRateLimitOptions): RateLimiter
  /** The pre-authentication limit per source address (shared, with a local memory of denials). */
  sourceIpLimiter(limit?: number): RateLimiter
  idempotency<T>(): IdempotencyStore<T>
  watermarks(): WatermarkStore
  leases(options?: LeaseOptions): LeaseManager
  close(): void
}

export interface SharedStateOptions {
  env?: Record<string, string | undefined>
  clock?: () => Date
  /** Counts DynamoDB calls (benchmarks and tests report round trips). */
  onCall?: (op: Operation) => void
  db?: DynamoDb
}

export function createSharedState(config: StateConfig, options: SharedStateOptions = {}): SharedState {
  const db =
    options.db ??
    createDynamoDb({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
      credentials: credentialsFromEnv(options.env ?? process.env),
      ...(options.onCall ? { onCall: options.onCall } : {}),
    })
  const table: StateTable = { db, name: config.tableName, clock: options.clock ?? (() => new Date()) }
  return {
    table,
    replay: () => createDynamoReplayStore(table),
    ownership: () => createDynamoOwnershipStore(table),
    rateLimiter: (o) => createSharedRateLimiter(table, o),
    sourceIpLimiter: (limit = RATE_LIMITS.sourceIp.limit) => withLocalDenials(createSharedRateLimiter(table, { ...RATE_LIMITS.sourceIp, limit }), table.clock),
    idempotency: <T>() => createDynamoIdempotencyStore<T>(table),
    watermarks: () => createDynamoWatermarkStore(table),
    leases: (o) => createDynamoLeaseManager(table, o),
    close: () => db.close(),
  }
}
