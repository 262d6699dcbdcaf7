/**
 * The EventBridge target: turns ECR pushes and custom deploy requests into
 * deploys through the deploy core.
 *
 * Outcomes and what Lambda does with them (async invoke: 2 retries, then the
 * on-failure destination / DLQ):
 *  - malformed event: logged with the reason and *returned* (not thrown) —
 *    retrying cannot fix it;
 *  - valid but not ours (ECR DELETE/FAILURE, unmapped repository or tag,
 *    custom request outside `deployRequests`): logged and dropped;
 *  - held environment / older than the current value: logged skip;
 *  - duplicate delivery (same event id): no second commit;
 *  - failure that a retry may fix (githosted unavailable, contention, a
 *    conflict, a broken config file someone may repair): thrown, so Lambda's
 *    retry and then the DLQ take over; environments already done are
 *    idempotent on the retry (event id in the commit trailers).
 */
import type { Logger } from '../lib/observability/logger.js'
import { type ApplyResult, applyConfigUpdate } from '../lib/deploys/apply.js'
import { type ConfigLayout, DEFAULT_LAYOUT } from '../lib/deploys/change.js'
import type { RecentDeploys } from '../lib/deploys/recent.js'
import type { DeployCoordination } from '../lib/deploys/coordination.js'
import { digestPointerFor } from '../lib/deploys/digest.js'
import { AppError } from '../lib/errors.js'
import type { RepoHandle } from '../lib/githosted/types.js'
import { EnvironmentHeldError } from '../lib/deploys/errors.js'
import { PromotionGateError, promote } from '../lib/deploys/promote.js'
import { type DeployMapping, allowsDeployRequest, matchEcr, promotionSettingsFor } from './mapping.js'
import { MalformedEventError, parseEvent } from './parse.js'
import { lazyDeps } from '../lib/lazy.js'

export interface EventsDeps {
  mapping: DeployMapping
  /** A write handle to `repo` for `subject` (scoped token; see lib/deploys/scoped-repo.ts). */
  repos: (repo: string, subject: string) => Promise<RepoHandle>
  logger: Logger
  clock?: () => Date
  layout?: ConfigLayout
  recent?: RecentDeploys<ApplyResult>
  /** Lease, idempotency and event order shared across containers (DynamoDB). */
  coordination?: DeployCoordination<ApplyResult>
}

export interface EventTargetResult {
  environment: string
  repo: string
  outcome: 'committed' | 'unchanged' | 'duplicate' | 'skipped' | 'rejected'
  commit?: string
  reason?: string
}

export interface EventsResult {
  eventId?: string
  status: 'processed' | 'ignored' | 'unmapped' | 'rejected'
  reason?: string
  targets: EventTargetResult[]
}

interface Target {
  repo: string
  environment: string
  change: { image: string } | { set: Record<string, unknown> }
  layout: ConfigLayout
  imageDigest?: string
  requester: string
  idempotencyKey?: string
  reason?: string
  subject?: string
}

/** Errors that a retry cannot fix: bad values in the event, unknown environment, forbidden. */
function permanent(err: unknown): boolean {
  return err instanceof AppError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429
}

export function createEventsHandler(deps: EventsDeps | (() => EventsDeps)) {
  const get = lazyDeps(deps, (d) => d)

  return async function handleEvent(event: unknown, context?: { awsRequestId?: string }): Promise<EventsResult> {
    const d = get()
    const log = d.logger.child({ awsRequestId: context?.awsRequestId })
    let parsed
    try {
      parsed = parseEvent(event)
    } catch (err) {
      if (!(err instanceof MalformedEventError)) throw err
      const id = typeof event === 'object' && event !== null ? String((event as Record<string, unknown>).id ?? '').slice(0, 128) : ''
      log.error('event rejected: malformed (not retried)', { eventId: id || undefined, reason: err.message })
      return { ...(id ? { eventId: id } : {}), status: 'rejected', reason: err.message, targets: [] }
    }
    const elog = log.child({ eventId: parsed.id })
    if (parsed.kind === 'ignored') {
      elog.info('event ignored', { reason: parsed.reason })
      return { eventId: parsed.id, status: 'ignored', reason: parsed.reason, targets: [] }
    }

    const layout = d.layout ?? DEFAULT_LAYOUT
    if (parsed.kind === 'schedule') return runAutoPromotions(d, parsed.id, layout, elog)
    const targets: Target[] = []
    if (parsed.kind === 'ecr-push') {
      const matches = matchEcr(d.mapping, parsed.push)
      if (matches.length === 0) {
        const reason = `no mapping for ECR repository ${parsed.push.repository}${parsed.push.tag ? ` tag ${parsed.push.tag}` : ' (untagged)'}`
        elog.info('event dropped: unmapped', { reason })
        return { eventId: parsed.id, status: 'unmapped', reason, targets: [] }
      }
      for (const { rule, image } of matches) {
        for (const environment of rule.environments) {
          // writeDigest: the digest goes next to the image in the same commit, so a promotion can pin it.
          const pointer = rule.pointer ?? layout.imagePointer
          targets.push({
            repo: rule.repo,
            environment,
            change: rule.writeDigest ? { set: { [pointer]: image, [digestPointerFor(pointer)]: parsed.push.digest } } : { image },
            ...(rule.writeDigest ? { subject: `Deploy ${image} to ${environment}` } : {}),
            layout: rule.pointer ? { ...layout, imagePointer: rule.pointer } : layout,
            imageDigest: parsed.push.digest,
            requester: `ecr:${parsed.push.account}/${parsed.push.region}/${parsed.push.repository}`,
          })
        }
      }
    } else {
      if (!allowsDeployRequest(d.mapping, parsed.repo, parsed.environment)) {
        const reason = `deploy requests to ${parsed.repo}/${parsed.environment} are not allowed by config/deploy-mapping.json`
        elog.warn('event dropped: unmapped', { reason })
        return { eventId: parsed.id, status: 'unmapped', reason, targets: [] }
      }
      targets.push({
        repo: parsed.repo,
        environment: parsed.environment,
        change: parsed.change,
        layout,
        // The envelope's account first (EventBridge sets it; the bus policy and rule admit only
        // listed senders), then the sender's self-declared name.
        requester: parsed.senderAccount ? `event:${parsed.senderAccount}/${parsed.requestedBy}` : `event:${parsed.requestedBy}`,
        idempotencyKey: parsed.idempotencyKey,
        reason: parsed.reason,
      })
    }

    const results: EventTargetResult[] = []
    const retryable: unknown[] = []
    for (const t of targets) {
      const tlog = elog.child({ repo: t.repo, environment: t.environment })
      try {
        const repo = await d.repos(t.repo, t.requester)
        const r = await applyConfigUpdate(
          { repo, repoName: t.repo, logger: tlog, layout: t.layout, ...(d.clock ? { clock: d.clock } : {}), ...(d.recent ? { recent: d.recent } : {}), ...(d.coordination ? { coordination: d.coordination } : {}) },
          {
            environment: t.environment,
            change: t.change,
            source: 'event',
            requester: t.requester,
            eventId: parsed.id,
            eventTime: parsed.time,
            imageDigest: t.imageDigest,
            idempotencyKey: t.idempotencyKey,
            reason: t.reason,
            ...(t.subject ? { subject: t.subject } : {}),
          },
        )
        const outcome = r.replayed ? 'duplicate' : r.skipped ? 'skipped' : r.changed ? 'committed' : 'unchanged'
        results.push({ repo: t.repo, environment: t.environment, outcome, commit: r.commit, ...(r.reason ? { reason: r.reason } : {}) })
        tlog.info('event applied', { outcome, commit: r.commit, reason: r.reason })
      } catch (err) {
        if (permanent(err)) {
          const reason = (err as AppError).message
          tlog.error('event rejected for this environment (not retried)', { code: (err as AppError).code, reason })
          results.push({ repo: t.repo, environment: t.environment, outcome: 'rejected', reason })
        } else {
          tlog.error('event failed for this environment; Lambda will retry', { error: err })
          retryable.push(err)
        }
      }
    }
    if (retryable.length > 0) {
      const first = retryable[0]
      const message = first instanceof Error ? first.message : String(first)
      throw new Error(`event ${parsed.id}: ${retryable.length} of ${targets.length} target(s) failed; first: ${message}`, { cause: first })
    }
    return { eventId: parsed.id, status: results.every((r) => r.outcome === 'rejected') ? 'rejected' : 'processed', targets: results }
  }
}

/**
 * The auto-promotion schedule: each `autoPromote` path of the mapping runs
 * through the same promotion code as POST /v1/promotions (lease,
 * idempotency, holds, trailers), with the gates the mapping gives it. A gate
 * that has not passed yet (soak, checks), a hold, or a value already in
 * place is a logged skip, not a failure: the next tick tries again, and a
 * source value promoted once is not promoted twice (it is already in place).
 */
async function runAutoPromotions(d: EventsDeps, id: string, layout: ConfigLayout, log: Logger): Promise<EventsResult> {
  const results: EventTargetResult[] = []
  const retryable: unknown[] = []
  for (const { repo: repoName, gate } of d.mapping.autoPromote) {
    const tlog = log.child({ repo: repoName, from: gate.from, to: gate.to })
    try {
      const repo = await d.repos(repoName, 'schedule:auto-promote')
      const r = await promote(
        { repo, repoName, logger: tlog, layout, ...(d.clock ? { clock: d.clock } : {}), ...(d.coordination ? { coordination: d.coordination } : {}) },
        { from: gate.from, to: gate.to, gate, settings: promotionSettingsFor(d.mapping, repoName), now: (d.clock ?? (() => new Date()))(), requester: 'schedule:auto-promote', reason: `scheduled promotion ${gate.from} -> ${gate.to}` },
      )
      const outcome = r.replayed ? 'duplicate' : r.changed ? 'committed' : 'unchanged'
      results.push({ repo: repoName, environment: gate.to, outcome, commit: r.commit })
      tlog.info('auto-promotion', { outcome, commit: r.commit, from: r.promotedFrom.commit })
    } catch (err) {
      if (err instanceof PromotionGateError || err instanceof EnvironmentHeldError) {
        results.push({ repo: repoName, environment: gate.to, outcome: 'skipped', reason: err.message })
        tlog.info('auto-promotion skipped', { code: err.code, reason: err.message })
      } else if (permanent(err)) {
        results.push({ repo: repoName, environment: gate.to, outcome: 'rejected', reason: (err as AppError).message })
        tlog.error('auto-promotion rejected (not retried)', { code: (err as AppError).code, reason: (err as AppError).message })
      } else {
        tlog.error('auto-promotion failed; the next tick tries again', { error: err })
        retryable.push(err)
      }
    }
  }
  if (retryable.length > 0) {
    const first = retryable[0]
    throw new Error(`schedule ${id}: ${retryable.length} of ${d.mapping.autoPromote.length} promotion(s) failed; first: ${first instanceof Error ? first.message : String(first)}`, { cause: first })
  }
  return { eventId: id, status: 'processed', targets: results }
}
