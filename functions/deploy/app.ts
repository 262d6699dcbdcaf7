/**
 * The deploy endpoints as a Hono app over injected dependencies (Lambda
 * handler.ts, `npm start` and tests build the same app).
 *
 *   POST /v1/deploys           {repo, environment, image | set, idempotencyKey?, dryRun?, overrideHold?, reason?}
 *   POST /v1/deploys/rollback  {repo, environment, to?, keys?, idempotencyKey?, dryRun?, overrideHold?, reason?}
 *   POST /v1/deploys/hold      {repo, environment, reason}
 *   POST /v1/deploys/verify    {repo, environment, commit?, check}
 *   POST /v1/promotions        {repo, from, to, keys?, reason?, idempotencyKey?, allowTagOnly?, dryRun?}
 *   DELETE /v1/deploys/hold?repo=..&environment=..[&reason=..]
 *   GET  /healthz
 *
 * Order: validate the body, authenticate (purpose 'deploy': an OIDC token is
 * not consumed, so one CI job token can drive several deploys), ask the
 * policy whether this identity may deploy to this repo/environment (and
 * override a hold), then run the deploy core with a gr_ token scoped to the
 * one repo. Every decision writes exactly one audit line. Holding and
 * releasing need the same deploy rights as deploying to the environment,
 * and so does recording a check; promoting needs the policy's promote path.
 */
import { Hono, type Context } from 'hono'
import type { Auditor } from '../lib/audit/audit.js'
import { createAuditor } from '../lib/audit/audit.js'
import type { Logger } from '../lib/audit/logger.js'
import type { Authenticator, CallerIdentity } from '../lib/auth/types.js'
import { type ApplyDeps, type ApplyResult, applyConfigUpdate } from '../lib/deploys/apply.js'
import { type ConfigChange, type ConfigLayout, DEFAULT_LAYOUT } from '../lib/deploys/change.js'
import { DEFAULT_PROMOTION_SETTINGS, type PromotionSettings, digestPointerFor } from '../lib/deploys/digest.js'
import { PromotionForbiddenError, promote } from '../lib/deploys/promote.js'
import { recordVerification } from '../lib/deploys/verify.js'
import type { DeployCoordination } from '../lib/deploys/coordination.js'
import { type RollbackPlan, planRollback } from '../lib/deploys/rollback.js'
import type { ScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import type { RepoHandle } from '../lib/githosted/types.js'
import { AppError, ForbiddenError, ValidationError } from '../lib/errors.js'
import { installRouteFallbacks } from '../lib/edge/fallbacks.js'
import { limitBody, readFields } from '../lib/edge/body.js'
import { parseJsonText, stringifyExact } from '../lib/deploys/json-text.js'
import { DEFAULT_REQUEST_BUDGET_MS, Deadline, type DeadlineOptions, withDeadline } from '../lib/deadline.js'
import { problemResponse } from '../lib/edge/problem.js'
import {
  createTokenBucketLimiter,
  enforceRateLimit,
  rateLimitKey,
  SOURCE_IP_LIMIT,
  sourceIpLimit,
  sourceIpOf,
  type RateLimiter,
  type SourceAddressBindings,
} from '../lib/edge/rate-limit.js'
import type { Decision, Policy } from '../lib/policy/types.js'
import { type HoldOutcome, liftHold, putHold } from './hold.js'
import { type DeployBody, parseDeployBody, parseHoldBody, parsePromotionBody, parseReleaseQuery, parseRollbackBody, parseVerifyBody } from './request.js'

export interface DeployAppDeps {
  authenticator: Authenticator
  policy: Policy
  /** Write handles scoped to one repo (see lib/deploys/scoped-repo.ts). */
  repos: ScopedRepoProvider
  logger: Logger
  auditor?: Auditor
  clock?: () => Date
  layout?: ConfigLayout
  rateLimiter?: RateLimiter
  /** Pre-authentication limiter per source IP. Default: token bucket, SOURCE_IP_LIMIT. */
  ipRateLimiter?: RateLimiter
  requestId?: () => string
  /** Lease, idempotency and event order shared across containers (DynamoDB). Default: this process only. */
  coordination?: DeployCoordination<ApplyResult>
  /** How promotions in a repo write digests (config/deploy-mapping.json `promotions`). Default: DEFAULT_PROMOTION_SETTINGS. */
  promotions?: (repo: string) => PromotionSettings
  /** Every retry of one request shares this budget (lib/deadline.ts). Default 20 s. */
  requestBudget?: { ms: number } & DeadlineOptions
}

/** Deploy bodies carry `set` values up to 16 KiB each; leave room for a few. */
const MAX_BODY_BYTES = 64 * 1024

interface Vars {
  requestId: string
  deps: DeployAppDeps & { auditor: Auditor; rateLimiter: RateLimiter; ipRateLimiter: RateLimiter }
}
type AppEnv = { Bindings: SourceAddressBindings & { event?: { requestContext?: { requestId?: string } } }; Variables: Vars }
type C = Context<AppEnv>

export function createDeployApp(deps: DeployAppDeps | (() => DeployAppDeps)) {
  let resolved: Vars['deps'] | undefined
  const resolve = () => {
    if (resolved) return resolved
    const d = typeof deps === 'function' ? deps() : deps
    resolved = {
      ...d,
      auditor: d.auditor ?? createAuditor(d.logger),
      rateLimiter: d.rateLimiter ?? createTokenBucketLimiter({ capacity: 50, refillPerMinute: 300, ...(d.clock ? { clock: d.clock } : {}) }),
      ipRateLimiter: d.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, ...(d.clock ? { clock: d.clock } : {}) }),
    }
    return resolved
  }

  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    const id = c.env?.event?.requestContext?.requestId ?? resolved?.requestId?.() ?? crypto.randomUUID()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  })
  installRouteFallbacks(app, (c, err) => problemResponse(c, err, c.get('requestId')))
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.use('/v1/*', async (c, next) => {
    c.set('deps', resolve())
    await next()
  })
  app.use('/v1/*', sourceIpLimit(() => resolve().ipRateLimiter))
  app.use('/v1/*', limitBody(MAX_BODY_BYTES))
  app.use('/v1/*', (c, next) => {
    const { ms, ...options } = c.get('deps').requestBudget ?? { ms: DEFAULT_REQUEST_BUDGET_MS }
    return withDeadline(new Deadline(ms, options), next)
  })

  app.post('/v1/deploys', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.apply', async (a) => {
      // Set values keep numbers a double would round (exact-number.ts).
      const body = parseDeployBody(await readFields(c, { parseJson: parseJsonText }), c.req.header('idempotency-key'))
      a.repo = body.repo
      a.environment = body.environment
      const identity = await authorize(c, a, body)
      const repo = await d.repos(body.repo, identity.subject)
      return applyConfigUpdate(
        applyDeps(d, repo, body.repo),
        {
          environment: body.environment,
          ...withDigest(body, d.layout ?? DEFAULT_LAYOUT),
          source: 'api',
          requester: identity.subject,
          runUrl: identity.ciRunUrl,
          idempotencyKey: body.idempotencyKey,
          dryRun: body.dryRun,
          overrideHold: body.overrideHold,
          reason: body.reason,
        },
      )
    }, applySummary)
    // stringifyExact: a number the request set beyond a double's precision comes back as sent.
    return c.body(stringifyExact(response(out)), 200, { 'content-type': 'application/json' })
  })

  app.post('/v1/deploys/rollback', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.rollback', async (a) => {
      const body = parseRollbackBody(await readFields(c), c.req.header('idempotency-key'))
      a.repo = body.repo
      a.environment = body.environment
      const identity = await authorize(c, a, body)
      const repo = await d.repos(body.repo, identity.subject)
      const plan = await planRollback(repo, { environment: body.environment, to: body.to, keys: body.keys, ...(d.layout ? { layout: d.layout } : {}) })
      a.extra = { rollbackTo: plan.target }
      const result = await applyConfigUpdate(
        applyDeps(d, repo, body.repo),
        {
          environment: body.environment,
          change: plan.change,
          source: 'rollback',
          subject: plan.subject,
          requester: identity.subject,
          runUrl: identity.ciRunUrl,
          idempotencyKey: body.idempotencyKey,
          dryRun: body.dryRun,
          overrideHold: body.overrideHold,
          reason: [`rollback to ${plan.target.slice(0, 12)}`, body.reason].filter(Boolean).join('; '),
        },
      )
      return { ...result, rolledBackTo: plan.target, ...(plan.origin ? { rolledBackToOrigin: plan.origin } : {}) }
    }, applySummary)
    return c.json(response(out), 200)
  })

  app.post('/v1/deploys/hold', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.hold', async (a) => {
      const body = parseHoldBody(await readFields(c))
      a.repo = body.repo
      a.environment = body.environment
      const identity = await authorize(c, a, { ...body, overrideHold: false })
      const repo = await d.repos(body.repo, identity.subject)
      const mayReplaceOthers = a.decision?.grant?.overrideHolds === true
      return putHold(holdDeps(d, repo, body.repo), body.environment, body.reason, { subject: identity.subject, runUrl: identity.ciRunUrl, mayReplaceOthers })
    }, holdSummary)
    return c.json(holdResponse(out), 200)
  })

  app.delete('/v1/deploys/hold', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.release', async (a) => {
      // Fields travel in the query string; a body would be silently ignored by some proxies, so refuse it.
      if ((await c.req.text()).trim() !== '') {
        throw new ValidationError('DELETE /v1/deploys/hold takes repo, environment and reason in the query string, not a body.')
      }
      const query = parseReleaseQuery(new URL(c.req.url).searchParams)
      a.repo = query.repo
      a.environment = query.environment
      // Lifting a hold is overriding it: it needs the policy's overrideHolds, or a deployer
      // held back by a hold could simply release it and deploy.
      const identity = await authorize(c, a, { ...query, overrideHold: true })
      const repo = await d.repos(query.repo, identity.subject)
      return liftHold(holdDeps(d, repo, query.repo), query.environment, { subject: identity.subject, runUrl: identity.ciRunUrl, reason: query.reason })
    }, holdSummary)
    return c.json(holdResponse(out), 200)
  })

  app.post('/v1/deploys/verify', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.verify', async (a) => {
      const body = parseVerifyBody(await readFields(c))
      a.repo = body.repo
      a.environment = body.environment
      // A check result is a claim about the environment: the same rights as deploying to it.
      const identity = await authorize(c, a, { ...body, overrideHold: false })
      const repo = await d.repos(body.repo, identity.subject)
      const outcome = await recordVerification(repo, {
        environment: body.environment,
        check: body.check,
        ...(body.commit ? { commit: body.commit } : {}),
        requester: identity.subject,
        runUrl: identity.ciRunUrl,
        now: (d.clock ?? (() => new Date()))(),
        ...(d.layout ? { layout: d.layout } : {}),
      })
      return { repo: body.repo, ...outcome }
    }, (out) => ({ reason: out.changed ? 'committed' : 'already recorded', extra: { commit: out.commit, changed: out.changed, verifiedCommit: out.verified.commit } }))
    return c.json(out, 200)
  })

  app.post('/v1/promotions', async (c) => {
    const d = c.get('deps')
    const out = await audited(c, 'deploy.promote', async (a) => {
      const body = parsePromotionBody(await readFields(c), c.req.header('idempotency-key'))
      a.repo = body.repo
      a.environment = body.to
      a.extra = { from: body.from }
      const identity = await identify(c, a)
      const decision = d.policy.authorizePromote(identity, { repo: body.repo, from: body.from, to: body.to })
      a.decision = decision
      if (!decision.allowed || !decision.promote) throw new PromotionForbiddenError(decision.reason)
      const repo = await d.repos(body.repo, identity.subject)
      const result = await promote(applyDeps(d, repo, body.repo), {
        from: body.from,
        to: body.to,
        ...(body.keys ? { keys: body.keys } : {}),
        allowTagOnly: body.allowTagOnly,
        gate: decision.promote,
        settings: d.promotions?.(body.repo) ?? DEFAULT_PROMOTION_SETTINGS,
        now: (d.clock ?? (() => new Date()))(),
        requester: identity.subject,
        runUrl: identity.ciRunUrl,
        reason: body.reason,
        idempotencyKey: body.idempotencyKey,
        dryRun: body.dryRun,
      })
      a.extra = { ...a.extra, promotedFrom: `${result.promotedFrom.environment}@${result.promotedFrom.commit}` }
      return result
    }, applySummary)
    return c.body(stringifyExact({ ...response(out), from: out.promotedFrom }), 200, { 'content-type': 'application/json' })
  })

  app.onError((err, c) => problemResponse(c, err, c.get('requestId')))
  return app
}

function applyDeps(d: Vars['deps'], repo: RepoHandle, repoName: string): ApplyDeps {
  return { repo, repoName, logger: d.logger, ...(d.clock ? { clock: d.clock } : {}), ...(d.layout ? { layout: d.layout } : {}), ...(d.coordination ? { coordination: d.coordination } : {}) }
}

/** An image with its digest becomes one commit setting both keys, so a promotion can copy the pin. */
function withDigest(body: DeployBody, layout: ConfigLayout): { change: ConfigChange; imageDigest?: string; subject?: string } {
  if (!body.digest || !('image' in body.change)) return { change: body.change }
  const image = body.change.image
  return {
    change: { set: { [layout.imagePointer]: image, [digestPointerFor(layout.imagePointer)]: body.digest } },
    imageDigest: body.digest,
    subject: `Deploy ${image} to ${body.environment}`,
  }
}

interface AuditContext {
  identity?: CallerIdentity
  decision?: Decision
  repo?: string
  environment?: string
  extra?: Record<string, unknown>
}

/** Who is calling (purpose 'deploy'), within the deploy rate limit. */
async function identify(c: C, a: AuditContext): Promise<CallerIdentity> {
  const d = c.get('deps')
  const identity = await d.authenticator.authenticate(c.req.header('authorization'), 'deploy')
  a.identity = identity
  await enforceRateLimit(d.rateLimiter, rateLimitKey(identity), 'deploy requests')
  return identity
}

async function authorize(c: C, a: AuditContext, body: { repo: string; environment: string; overrideHold: boolean }): Promise<CallerIdentity> {
  const d = c.get('deps')
  const identity = await identify(c, a)
  const decision = d.policy.authorizeDeploy(identity, { repo: body.repo, environment: body.environment, overrideHold: body.overrideHold })
  a.decision = decision
  if (!decision.allowed) throw new ForbiddenError(decision.reason)
  return identity
}

/** What an allowed request's audit line says about its outcome. */
interface OutcomeSummary {
  reason: string
  extra: Record<string, unknown>
}

function applySummary(out: ApplyResult): OutcomeSummary {
  return {
    reason: out.skipped ? `skipped: ${out.reason}` : out.changed ? 'committed' : out.dryRun ? 'dry run' : 'already in place',
    extra: { commit: out.commit, changed: out.changed, replayed: out.replayed, current: out.current },
  }
}

function holdSummary(out: HoldOutcome): OutcomeSummary {
  return {
    reason: out.changed ? 'committed' : out.held ? 'already held' : 'not held',
    extra: { commit: out.commit, changed: out.changed, held: out.held, ...(out.hold ? { hold: out.hold.reason } : {}) },
  }
}

/** Runs `fn` and writes one audit line for its outcome. */
async function audited<T>(c: C, event: string, fn: (a: AuditContext) => Promise<T>, summarize: (out: T) => OutcomeSummary): Promise<T> {
  const d = c.get('deps')
  const a: AuditContext = {}
  const base = () => ({
    event,
    requestId: c.get('requestId'),
    identity: a.identity,
    rule: a.decision?.rule,
    repos: a.repo ? [a.repo] : undefined,
    sourceIp: sourceIpOf(c.env),
  })
  try {
    const out = await fn(a)
    const summary = summarize(out)
    d.auditor.record({
      ...base(),
      outcome: 'allowed',
      code: 'OK',
      reason: summary.reason,
      extra: { environment: a.environment, ...a.extra, ...summary.extra },
    })
    return out
  } catch (err) {
    const denied = err instanceof AppError && (err.status === 401 || err.status === 403)
    d.auditor.record({
      ...base(),
      outcome: denied ? 'denied' : 'error',
      code: err instanceof AppError ? err.code : 'INTERNAL',
      reason: err instanceof AppError ? err.message : 'internal error',
      // The full policy trace is for operators; the caller only got decision.reason.
      extra: { environment: a.environment, ...a.extra, ...(a.decision ? { trace: a.decision.trace } : {}) },
    })
    if (!(err instanceof AppError)) d.logger.error('deploy failed', { requestId: c.get('requestId'), error: err })
    throw err
  }
}

function holdDeps(d: Vars['deps'], repo: RepoHandle, repoName: string) {
  return { repo, repoName, ...(d.clock ? { clock: d.clock } : {}), ...(d.layout ? { layout: d.layout } : {}) }
}

function holdResponse(r: HoldOutcome) {
  return {
    held: r.held,
    ...(r.hold ? { hold: r.hold } : {}),
    commit: r.commit,
    changed: r.changed,
    repo: r.repo,
    environment: r.environment,
    path: r.path,
    ...(r.previous ? { previous: r.previous } : {}),
  }
}

function response(r: ApplyResult & { rolledBackTo?: string; rolledBackToOrigin?: RollbackPlan['origin'] }) {
  return {
    commit: r.commit,
    changed: r.changed,
    previous: r.previous,
    current: r.current,
    repo: r.repo,
    environment: r.environment,
    path: r.path,
    ...(r.skipped ? { skipped: r.skipped, reason: r.reason } : {}),
    ...(r.replayed ? { replayed: true } : {}),
    ...(r.dryRun ? { dryRun: true, diff: r.diff } : {}),
    ...(r.repairCommit ? { repairCommit: r.repairCommit } : {}),
    ...(r.rolledBackTo ? { rolledBackTo: r.rolledBackTo } : {}),
    ...(r.rolledBackToOrigin ? { rolledBackToOrigin: r.rolledBackToOrigin } : {}),
    attempts: r.attempts,
  }
}
