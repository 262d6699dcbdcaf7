/**
 * The deploy use cases, free of any web framework: apply, rollback, hold,
 * release, verify and promote. Each one parses its input (inside the audit,
 * so a bad request gets its line too), authenticates with purpose 'deploy'
 * (an OIDC token is not consumed, so one CI job token can drive several
 * deploys), rate-limits per identity, asks the policy, opens a write handle
 * scoped to the one repo, acts, and writes exactly one audit line
 * (audit/audited.ts). Every use case runs inside one request budget
 * (deadline.ts), so retries deep in the deploy core stop in time.
 *
 * Holding, releasing and recording a check need the same deploy rights as
 * deploying to the environment; releasing is overriding (it needs the
 * grant's overrideHolds, or a deployer held back by a hold could lift it and
 * deploy); promoting needs the policy's promote path.
 */
import { audited, type AuditScope, type AuditSummary, type CallContext } from '../audit/audited.js'
import { createAuditor, type Auditor } from '../audit/audit.js'
import type { Logger } from '../observability/logger.js'
import type { Authenticator, CallerIdentity } from '../auth/types.js'
import { DEFAULT_REQUEST_BUDGET_MS, Deadline, type DeadlineOptions, withDeadline } from '../deadline.js'
import { createTokenBucketLimiter, enforceRateLimit, rateLimitKey, SOURCE_IP_LIMIT, type RateLimiter } from '../limits/rate-limiter.js'
import { ForbiddenError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import type { Decision, Policy } from '../policy/types.js'
import { type ApplyDeps, type ApplyResult, applyConfigUpdate } from './apply.js'
import { type ConfigChange, type ConfigLayout, DEFAULT_LAYOUT } from './change.js'
import type { DeployCoordination } from './coordination.js'
import { DEFAULT_PROMOTION_SETTINGS, type PromotionSettings, digestPointerFor } from './digest.js'
import { type HoldOutcome, liftHold, putHold } from './hold-actions.js'
import { PromotionForbiddenError, promote, type PromotionResult } from './promote.js'
import type { DeployBody, HoldBody, PromotionBody, ReleaseQuery, RollbackBody, VerifyBody } from './requests.js'
import { type RollbackPlan, planRollback } from './rollback.js'
import type { ScopedRepoProvider } from './scoped-repo.js'
import { recordVerification, type VerifyOutcome } from './verify.js'

export interface DeployServiceDeps {
  authenticator: Authenticator
  policy: Policy
  /** Write handles scoped to one repo (scoped-repo.ts). */
  repos: ScopedRepoProvider
  logger: Logger
  auditor?: Auditor
  clock?: () => Date
  layout?: ConfigLayout
  /** Per-identity limiter. Default: token bucket, burst 50, 300 per minute. */
  rateLimiter?: RateLimiter
  /** Pre-authentication limiter per source IP. Default: token bucket, SOURCE_IP_LIMIT. */
  ipRateLimiter?: RateLimiter
  /** Lease, idempotency and event order shared across containers (DynamoDB). Default: this process only. */
  coordination?: DeployCoordination<ApplyResult>
  /** How promotions in a repo write digests (config/deploy-mapping.json `promotions`). Default: DEFAULT_PROMOTION_SETTINGS. */
  promotions?: (repo: string) => PromotionSettings
  /** Every retry of one request shares this budget (deadline.ts). Default 20 s. */
  requestBudget?: { ms: number } & DeadlineOptions
}

export interface DeployCall extends CallContext {
  authorization: string | undefined
}

/** Reads and validates the input when the use case is ready for it (inside its audit line). */
export type Parse<B> = () => Promise<B> | B

export type RollbackResult = ApplyResult & { rolledBackTo: string; rolledBackToOrigin?: RollbackPlan['origin'] }
export type VerifyResult = VerifyOutcome & { repo: string }

export interface DeployService {
  /** The limiter the edge applies per source address before anything else. */
  readonly ipRateLimiter: RateLimiter
  apply(call: DeployCall, parse: Parse<DeployBody>): Promise<ApplyResult>
  rollback(call: DeployCall, parse: Parse<RollbackBody>): Promise<RollbackResult>
  hold(call: DeployCall, parse: Parse<HoldBody>): Promise<HoldOutcome>
  release(call: DeployCall, parse: Parse<ReleaseQuery>): Promise<HoldOutcome>
  verify(call: DeployCall, parse: Parse<VerifyBody>): Promise<VerifyResult>
  promote(call: DeployCall, parse: Parse<PromotionBody>): Promise<PromotionResult>
}

/** What one use case needs to know about its input to authorize it, and what it does once allowed. */
interface UseCase<B, T> {
  event: string
  target(body: B): { repo: string; environment: string; extra?: Record<string, unknown> }
  authorize(identity: CallerIdentity, body: B): Decision
  act(allowed: Allowed<B>): Promise<T>
  summarize(out: NoInfer<T>): AuditSummary
}

interface Allowed<B> {
  body: B
  identity: CallerIdentity
  decision: Decision
  /** A handle scoped to the body's repo. */
  repo: RepoHandle
  scope: AuditScope
}

export function createDeployService(deps: DeployServiceDeps): DeployService {
  const clock = deps.clock ?? (() => new Date())
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const sinks = { auditor: deps.auditor ?? createAuditor(deps.logger), logger: deps.logger }
  const rateLimiter = deps.rateLimiter ?? createTokenBucketLimiter({ capacity: 50, refillPerMinute: 300, clock })
  const { ms: budgetMs, ...budgetOptions } = deps.requestBudget ?? { ms: DEFAULT_REQUEST_BUDGET_MS }

  const run = <B, T>(call: DeployCall, parse: Parse<B>, useCase: UseCase<NoInfer<B>, T>): Promise<T> =>
    withDeadline(new Deadline(budgetMs, budgetOptions), () =>
      audited(sinks, call, useCase.event, async (scope) => {
        const body = await parse()
        const target = useCase.target(body)
        scope.repos = [target.repo]
        scope.extra = { environment: target.environment, ...target.extra }
        scope.identity = await deps.authenticator.authenticate(call.authorization, 'deploy')
        await enforceRateLimit(rateLimiter, rateLimitKey(scope.identity), 'deploy requests')
        const decision = useCase.authorize(scope.identity, body)
        scope.decision = decision
        const repo = await deps.repos(target.repo, scope.identity.subject)
        return useCase.act({ body, identity: scope.identity, decision, repo, scope })
      }, useCase.summarize),
    )

  const mayDeploy = (overrideHold: (body: { overrideHold?: boolean }) => boolean) =>
    (identity: CallerIdentity, body: { repo: string; environment: string; overrideHold?: boolean }): Decision => {
      const decision = deps.policy.authorizeDeploy(identity, { repo: body.repo, environment: body.environment, overrideHold: overrideHold(body) })
      if (!decision.allowed) throw new ForbiddenError(decision.reason)
      return decision
    }
  const asRequested = mayDeploy((body) => body.overrideHold === true)
  const withoutOverride = mayDeploy(() => false)
  const target = (body: { repo: string; environment: string }) => ({ repo: body.repo, environment: body.environment })
  const applyDeps = (repo: RepoHandle, repoName: string): ApplyDeps => ({
    repo,
    repoName,
    logger: deps.logger,
    clock,
    layout,
    ...(deps.coordination ? { coordination: deps.coordination } : {}),
  })
  const requester = (identity: CallerIdentity) => ({ requester: identity.subject, runUrl: identity.ciRunUrl })

  return {
    ipRateLimiter: deps.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, clock }),

    apply: (call, parse) =>
      run(call, parse, {
        event: 'deploy.apply',
        target,
        authorize: asRequested,
        act: ({ body, identity, repo }) =>
          applyConfigUpdate(applyDeps(repo, body.repo), {
            environment: body.environment,
            ...withDigest(body, layout),
            source: 'api',
            ...requester(identity),
            idempotencyKey: body.idempotencyKey,
            dryRun: body.dryRun,
            overrideHold: body.overrideHold,
            reason: body.reason,
          }),
        summarize: applySummary,
      }),

    rollback: (call, parse) =>
      run(call, parse, {
        event: 'deploy.rollback',
        target,
        authorize: asRequested,
        act: async ({ body, identity, repo, scope }) => {
          const plan = await planRollback(repo, { environment: body.environment, to: body.to, keys: body.keys, layout })
          scope.extra = { ...scope.extra, rollbackTo: plan.target }
          const result = await applyConfigUpdate(applyDeps(repo, body.repo), {
            environment: body.environment,
            change: plan.change,
            source: 'rollback',
            subject: plan.subject,
            ...requester(identity),
            idempotencyKey: body.idempotencyKey,
            dryRun: body.dryRun,
            overrideHold: body.overrideHold,
            reason: [`rollback to ${plan.target.slice(0, 12)}`, body.reason].filter(Boolean).join('; '),
          })
          return { ...result, rolledBackTo: plan.target, ...(plan.origin ? { rolledBackToOrigin: plan.origin } : {}) }
        },
        summarize: applySummary,
      }),

    hold: (call, parse) =>
      run(call, parse, {
        event: 'deploy.hold',
        target,
        authorize: withoutOverride,
        act: ({ body, identity, repo, decision }) =>
          putHold({ repo, repoName: body.repo, clock, layout }, body.environment, body.reason, {
            subject: identity.subject,
            runUrl: identity.ciRunUrl,
            mayReplaceOthers: decision.grant?.overrideHolds === true,
          }),
        summarize: holdSummary,
      }),

    release: (call, parse) =>
      run(call, parse, {
        event: 'deploy.release',
        target,
        authorize: mayDeploy(() => true),
        act: ({ body, identity, repo }) =>
          liftHold({ repo, repoName: body.repo, clock, layout }, body.environment, { subject: identity.subject, runUrl: identity.ciRunUrl, reason: body.reason }),
        summarize: holdSummary,
      }),

    verify: (call, parse) =>
      run(call, parse, {
        event: 'deploy.verify',
        target,
        // A check result is a claim about the environment: the same rights as deploying to it.
        authorize: withoutOverride,
        act: async ({ body, identity, repo }) => ({
          repo: body.repo,
          ...(await recordVerification(repo, {
            environment: body.environment,
            check: body.check,
            ...(body.commit ? { commit: body.commit } : {}),
            ...requester(identity),
            now: clock(),
            layout,
          })),
        }),
        summarize: (out) => ({
          reason: out.changed ? 'committed' : 'already recorded',
          extra: { commit: out.commit, changed: out.changed, verifiedCommit: out.verified.commit },
        }),
      }),

    promote: (call, parse) =>
      run(call, parse, {
        event: 'deploy.promote',
        target: (body) => ({ repo: body.repo, environment: body.to, extra: { from: body.from } }),
        authorize: (identity, body) => {
          const decision = deps.policy.authorizePromote(identity, { repo: body.repo, from: body.from, to: body.to })
          if (!decision.allowed || !decision.promote) throw new PromotionForbiddenError(decision.reason)
          return decision
        },
        act: async ({ body, identity, repo, decision, scope }) => {
          const result = await promote(applyDeps(repo, body.repo), {
            from: body.from,
            to: body.to,
            ...(body.keys ? { keys: body.keys } : {}),
            allowTagOnly: body.allowTagOnly,
            gate: decision.promote!,
            settings: deps.promotions?.(body.repo) ?? DEFAULT_PROMOTION_SETTINGS,
            now: clock(),
            ...requester(identity),
            reason: body.reason,
            idempotencyKey: body.idempotencyKey,
            dryRun: body.dryRun,
          })
          scope.extra = { ...scope.extra, promotedFrom: `${result.promotedFrom.environment}@${result.promotedFrom.commit}` }
          return result
        },
        summarize: applySummary,
      }),
  }
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

function applySummary(out: ApplyResult): AuditSummary {
  return {
    reason: out.skipped ? `skipped: ${out.reason}` : out.changed ? 'committed' : out.dryRun ? 'dry run' : 'already in place',
    extra: { commit: out.commit, changed: out.changed, replayed: out.replayed, current: out.current },
  }
}

function holdSummary(out: HoldOutcome): AuditSummary {
  return {
    reason: out.changed ? 'committed' : out.held ? 'already held' : 'not held',
    extra: { commit: out.commit, changed: out.changed, held: out.held, ...(out.hold ? { hold: out.hold.reason } : {}) },
  }
}
