/**
 * The state table on this machine: dynalite (the DynamoDB protocol, in
 * process, data on disk or in memory) and the table itself, created through
 * the same client the functions use on AWS, with only the endpoint changed.
 */
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { createDynamoDb, type DynamoDb } from '../functions/lib/state/dynamodb.js'
import { PK, TTL } from '../functions/lib/state/table.js'

export const LOCAL_TABLE = 'githosted-ci-broker-state'
export const LOCAL_REGION = 'local-1'
/** dynalite checks that requests are signed, not by whom. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }
/** dynalite runs in a Node process next to everything else: give it time on a loaded machine. */
export const LOCAL_TIMEOUT_MS = 10_000
export const LOCAL_STATE_ENV = { AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey }

export interface LocalDynamo {
  endpoint: string
  close(): Promise<void>
}

interface DynaliteServer {
  listen(port: number, host: string, cb: () => void): void
  address(): AddressInfo
  close(cb: () => void): void
  once(event: 'error', cb: (err: Error) => void): void
}

/** Starts dynalite on 127.0.0.1 (`path` keeps data on disk; without it, in memory). */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const require = createRequire(import.meta.url)
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => DynaliteServer
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) })
  await new Promise<void>((ok, ko) => {
    server.once('error', ko)
    server.listen(options.port ?? 0, '127.0.0.1', ok)
  })
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  }
}

/** A client for a local endpoint. */
export function localDynamoDb(endpoint: string): DynamoDb {
  return createDynamoDb({ region: LOCAL_REGION, endpoint, credentials: () => LOCAL_CREDENTIALS, timeoutMs: LOCAL_TIMEOUT_MS })
}

/** Creates the state table (pk, TTL on expiresAt) unless it exists. */
export async function ensureStateTable(endpoint: string, tableName = LOCAL_TABLE): Promise<void> {
  const db = localDynamoDb(endpoint)
  try {
    try {
      await db.call('DescribeTable', { TableName: tableName })
      return
    } catch (err) {
      if (!/ResourceNotFound/.test((err as Error).message)) throw err
    }
    await db.call('CreateTable', {
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: PK, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: PK, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    })
    // dynalite does not expire items; the stores never rely on deletion, only on the attribute.
    await db.call('UpdateTimeToLive', { TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL, Enabled: true } }).catch(() => undefined)
  } finally {
    db.close()
  }
}
