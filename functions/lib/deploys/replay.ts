/**
 * Replays. The same idempotency key or event id found in the shared
 * idempotency records (coordination.ts), in this process's memory
 * (recent.ts), or in the file's recent history (history.ts) returns the
 * original answer without writing. An idempotency key reused for a different
 * change is refused rather than replayed.
 *
 * Across containers (ApplyDeps.coordination, DynamoDB on Lambda) each deploy
 * runs under its repo's write lease, so a replay check and the write it
 * guards cannot interleave with another broker deploy to that repo.
 */
import type { Logger } from '../observability/logger.js'
import { silentLogger } from '../observability/logger.js'
import { currentDeadline } from '../deadline.js'
import { ValidationError } from '../errors.js'
import type { Lease } from '../state/lease.js'
import type { ApplyDeps, ApplyRequest, ApplyResult } from './apply-types.js'
import type { NormalizedAssignment } from './change.js'
import { DEFAULT_LEASE_WAIT_MS, type DeployCoordination, afterLanding } from './coordination.js'
import { IdempotencyKeyReusedError } from './errors.js'
import { jsonEqual } from './json-values.js'
import type { RecentDeploys } from './recent.js'
import type { DeployTrailers } from './trailers.js'

/** Of the request's budget, what is kept for the deploy once the lease is ours. */
const DEPLOY_AFTER_LEASE_MS = 5_000

/** The keys a deploy's answer is recorded under (idempotency key, event id); checks both. */
export function replayKeys(repoName: string, environment: string, request: ApplyRequest): string[] {
  const keys = [
    request.idempotencyKey && `${repoName}|${environment}|key|${request.idempotencyKey}`,
    request.eventId && `${repoName}|${environment}|event|${request.eventId}`,
  ].filter((k): k is string => !!k)
  if (request.idempotencyKey !== undefined) checkKey(request.idempotencyKey, 'idempotencyKey')
  if (request.eventId !== undefined) checkKey(request.eventId, 'eventId')
  return keys
}

function checkKey(value: string, field: string): void {
  if (typeof value !== 'string' || value === '' || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ValidationError(`${field} must be 1-200 printable characters.`, field)
  }
}

function checkSameChange(prior: ApplyResult, assignments: NormalizedAssignment[], request: ApplyRequest): void {
  if (!request.idempotencyKey) return
  const same = assignments.every((a) => a.pointer in prior.current && jsonEqual(prior.current[a.pointer], a.value))
  if (!same) {
    throw new IdempotencyKeyReusedError(
      `Idempotency key "${request.idempotencyKey}" was already used for a different change in ${prior.environment} (commit ${prior.commit.slice(0, 12)}).`,
      prior.commit,
    )
  }
}

/** `prior` answered again, once the request is known to ask for the same change; logged where `logger` is given. */
export function replayOf(prior: ApplyResult, assignments: NormalizedAssignment[], request: ApplyRequest, logger?: Logger): ApplyResult {
  checkSameChange(prior, assignments, request)
  logger?.info('deploy already applied (replay)', { commit: prior.commit, idempotencyKey: request.idempotencyKey, eventId: request.eventId })
  return { ...prior, replayed: true, attempts: 0, retries: 0, repairs: 0 }
}

/** The answer a deploy commit's trailers record, as `replayOf` takes it. */
export function recordedResult(where: { repo: string; environment: string; path: string }, commit: string, trailers: DeployTrailers): ApplyResult {
  const previous: Record<string, unknown> = {}
  const current: Record<string, unknown> = {}
  for (const c of trailers.changes) {
    previous[c.pointer] = c.previous ?? null
    current[c.pointer] = c.current ?? null
  }
  return { ...where, commit, changed: true, previous, current, attempts: 0, retries: 0, repairs: 0, replayed: true }
}

/**
 * Without coordination (unit tests, single-process tools): this process's
 * memory holds each run from its start, so concurrent deliveries of one
 * event in this process share one write.
 */
export async function inProcess(
  recent: RecentDeploys<ApplyResult>,
  keys: string[],
  assignments: NormalizedAssignment[],
  request: ApplyRequest,
  start: () => Promise<ApplyResult>,
): Promise<ApplyResult> {
  for (const k of keys) {
    const prior = recent.get(k)
    if (prior) return replayOf(await prior, assignments, request)
  }
  const run = start()
  for (const k of keys) recent.remember(k, run)
  return run
}

/**
 * One deploy's turn at the repo: under its write lease, an idempotency
 * record or event-order mark left by any container decides first; the
 * result is recorded before the lease is given back.
 */
export async function coordinated(
  deps: ApplyDeps,
  c: DeployCoordination<ApplyResult>,
  keys: string[],
  assignments: NormalizedAssignment[],
  request: ApplyRequest,
  start: (lease: Lease) => Promise<ApplyResult>,
): Promise<ApplyResult> {
  const clock = deps.clock ?? (() => new Date())
  const logger = deps.logger ?? silentLogger
  const asked = clock().getTime()
  // The wait fits inside the request's budget (lib/deadline.ts), leaving time for the deploy itself.
  const budgetEnd = currentDeadline()?.endsAt
  const lease = await c.leases.acquire(`repo:${deps.repoName}`, {
    deadline: Math.min(asked + (c.leaseWaitMs ?? DEFAULT_LEASE_WAIT_MS), budgetEnd === undefined ? Infinity : budgetEnd - DEPLOY_AFTER_LEASE_MS),
    onWait: () => logger.debug('waiting for the repo write lease', { repo: deps.repoName }),
  })
  // leaseWaitMs feeds the LeaseWait metric (lib/observability).
  logger.info('repo write lease taken', { repo: deps.repoName, fence: lease.fence, leaseWaitMs: clock().getTime() - asked })
  try {
    for (const k of keys) {
      const prior = await c.idempotency.get(k)
      if (prior) return replayOf(prior, assignments, request, logger)
    }
    const result = await start(lease)
    if (!result.skipped) await afterLanding(logger, 'record the idempotency key', () => Promise.all(keys.map((k) => c.idempotency.put(k, result))))
    return result
  } finally {
    try {
      await c.leases.release(lease)
    } catch (err) {
      // It expires on its own; the deploy's answer stands.
      logger.warn('could not release the repo write lease; it expires on its own', { code: (err as { code?: string }).code })
    }
  }
}
