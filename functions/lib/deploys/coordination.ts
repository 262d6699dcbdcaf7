/**
 * What deploys share across containers (DynamoDB on Lambda and under
 * `npm start`; in-process stand-ins in unit tests):
 *  - a per-repo write lease, so broker writers to one repo take turns: on a
 *    server that ignores expectedHead no broker deploy can overwrite another,
 *    a crash between a write and its repair has nothing to lose, and a change
 *    that will be answered 409 never reaches the tip;
 *  - idempotency records, so a key or event id retried anywhere replays the
 *    original answer;
 *  - event-order watermarks, so an older or redelivered event is skipped
 *    whichever container sees it.
 * expectedHead and the after-the-fact parent check stay: they guard against
 * writers outside the broker.
 */
import type { Logger } from '../observability/logger.js'
import type { IdempotencyStore } from '../state/idempotency.js'
import { createMemoryIdempotencyStore } from '../state/idempotency.js'
import { createMemoryLeaseManager, type LeaseManager } from '../state/lease.js'
import { createMemoryWatermarkStore, type WatermarkStore } from '../state/watermarks.js'
import type { SharedState } from '../state/index.js'

export interface DeployCoordination<R = unknown> {
  leases: LeaseManager
  idempotency: IdempotencyStore<R>
  watermarks: WatermarkStore
  /** Longest wait for a busy repo's lease. Default 18 s: a dead holder's lease (15 s) frees inside it. */
  leaseWaitMs?: number
}

export const DEFAULT_LEASE_MS = 15_000
export const DEFAULT_LEASE_WAIT_MS = 18_000

/** The coordination a function uses on Lambda and under `npm start`. */
export function sharedCoordination<R>(state: SharedState): DeployCoordination<R> {
  return { leases: state.leases({ durationMs: DEFAULT_LEASE_MS }), idempotency: state.idempotency<R>(), watermarks: state.watermarks() }
}

/** One process's coordination: unit tests and single-process tools only. */
export function inProcessCoordination<R>(): DeployCoordination<R> {
  return { leases: createMemoryLeaseManager({ durationMs: DEFAULT_LEASE_MS }), idempotency: createMemoryIdempotencyStore<R>(), watermarks: createMemoryWatermarkStore() }
}

/**
 * Bookkeeping after the change is in the file: a failure here must not turn
 * the answer into an error (a 5xx says nothing was applied). The Git
 * trailers stay as the fallback for idempotency and ordering.
 */
export async function afterLanding(logger: Logger, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    logger.warn(`deploy landed but could not ${what}; the commit trailers stand in for it`, { code: (err as { code?: string }).code })
  }
}
