/**
 * The token use cases, free of any web framework: mint, explain (a dry run
 * of the policy) and revoke. Each authenticates, rate-limits, asks the
 * policy, acts, and writes exactly one audit line (audit/audited.ts). The
 * Hono app (functions/token/app.ts) maps HTTP onto it, and so does the
 * Express peer the benchmarks compare it with, so the two run one
 * implementation and cannot drift.
 *
 * Order inside a mint: the body is parsed first (a bad request burns no
 * single-use OIDC token); the single-use claim, the identity's limit and the
 * source address's limit go out together; then the policy, the mint and the
 * ownership record. When no token is minted after authenticating, the OIDC
 * token's single use is released so the job can retry with it.
 */
import { audited, type AuditScope, type CallContext } from '../audit/audited.js'
import { createAuditor, fingerprint, type Auditor } from '../audit/audit.js'
import type { Logger } from '../observability/logger.js'
import type { Authenticator, CallerIdentity } from '../auth/types.js'
import { createTokenBucketLimiter, enforceRateLimit, rateLimitKey, SOURCE_IP_LIMIT, type RateLimiter } from '../limits/rate-limiter.js'
import { AppError, ForbiddenError, NotFoundAppError, ValidationError } from '../errors.js'
import type { GithostedClientFactory, Permission } from '../githosted/types.js'
import { callerTrace } from '../policy/evaluate.js'
import type { Decision, Grant, MintRequest, Policy, RuleTrace } from '../policy/types.js'
import type { SecretSource } from '../secrets/source.js'
import { createMinter, type Minter, type MintedToken } from './mint.js'
import { createMemoryOwnershipStore, ownerKey, type OwnershipStore } from './ownership.js'

export interface TokenServiceDeps {
  authenticator: Authenticator
  policy: Policy
  /** The workspace (gw_) token; read on first mint, cached by the source. */
  workspaceToken: SecretSource
  githosted: GithostedClientFactory
  logger: Logger
  clock?: () => Date
  /** Per-identity limiter (keyed by rateLimitKey). Default: token bucket, burst 10, 30 per minute. */
  rateLimiter?: RateLimiter
  /** Pre-authentication limiter per source IP. Default: token bucket, SOURCE_IP_LIMIT. */
  ipRateLimiter?: RateLimiter
  /** Who minted what (for revoke). Default: in memory, per container. */
  ownership?: OwnershipStore
  /** Where audit records go. Default: `logger` (give one that LOG_LEVEL cannot silence). */
  auditor?: Auditor
}

/** One call as the service sees it, whatever framework received it. */
export interface TokenCall extends CallContext {
  authorization: string | undefined
  /** Waits for the per-address check started when the request arrived; rejects with its 429. */
  ipChecked(): Promise<void>
}

/** The body, read and validated only when the service is ready for it. */
export type ParseRequest = () => Promise<MintRequest> | MintRequest

export interface MintOutcome extends MintedToken {
  repos: string[]
  permission: Permission
  rule: string
  requestedTtlSeconds: number
  /** The policy shortened the requested TTL. */
  clamped: boolean
}

export type Explanation =
  | { dryRun: true; allowed: false; reason: string; request: MintRequest }
  | {
      dryRun: true
      allowed: boolean
      rule?: string
      reason: string
      request: MintRequest
      ttlSeconds?: number
      clamped?: boolean
      grant?: Grant
      trace: RuleTrace[]
    }

export interface TokenService {
  /** The limiter the edge starts per source address before anything else. */
  readonly ipRateLimiter: RateLimiter
  mint(call: TokenCall, parse: ParseRequest): Promise<MintOutcome>
  explain(call: TokenCall, parse: ParseRequest): Promise<Explanation>
  revoke(call: TokenCall, tokenId: string): Promise<void>
}

const TOKEN_ID_RE = /^[A-Za-z0-9_-]{1,128}$/

interface Parts {
  authenticator: Authenticator
  policy: Policy
  workspaceToken: SecretSource
  logger: Logger
  auditor: Auditor
  rateLimiter: RateLimiter
  ownership: OwnershipStore
  minter: Minter
}

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const clock = deps.clock ?? (() => new Date())
  const d: Parts = {
    ...deps,
    rateLimiter: deps.rateLimiter ?? createTokenBucketLimiter({ clock }),
    ownership: deps.ownership ?? createMemoryOwnershipStore({ clock }),
    auditor: deps.auditor ?? createAuditor(deps.logger),
    minter: createMinter({ workspaceToken: deps.workspaceToken, githosted: deps.githosted, clock }),
  }
  const readLimited = async (call: TokenCall, a: AuditScope): Promise<CallerIdentity> => {
    await call.ipChecked()
    a.identity = await d.authenticator.authenticate(call.authorization, 'read')
    await enforceRateLimit(d.rateLimiter, rateLimitKey(a.identity), 'token requests')
    return a.identity
  }

  return {
    ipRateLimiter: deps.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, clock }),

    mint: (call, parse) =>
      audited(
        d,
        call,
        'token.mint',
        async (a) => mintFor(d, call, a, noteRequest(a, await parse())),
        (out, a) => ({
          reason: a.decision?.reason ?? 'allowed',
          tokenFingerprint: fingerprint(out.token),
          extra: { method: out.method, clamped: out.clamped, expiresAt: out.expiresAt.toISOString() },
        }),
      ),

    explain: (call, parse) =>
      audited(
        d,
        call,
        'token.explain',
        async (a) => {
          const request = noteRequest(a, await parse())
          // Explaining must not consume a single-use OIDC token: purpose 'read'.
          const identity = await readLimited(call, a)
          a.decision = d.policy.authorizeMint(identity, request)
          return explanation(a.decision, request)
        },
        (_, a) => ({
          reason: `explained: ${a.decision?.reason ?? ''}`,
          extra: { dryRun: true, wouldAllow: a.decision?.allowed ?? false, trace: a.decision?.trace },
        }),
      ),

    revoke: (call, tokenId) =>
      audited(
        d,
        call,
        'token.revoke',
        async (a) => {
          if (!TOKEN_ID_RE.test(tokenId)) throw new ValidationError('Token id has an invalid format.', 'id')
          a.tokenId = tokenId
          const identity = await readLimited(call, a)
          const record = await d.ownership.get(tokenId)
          if (!record) {
            throw new NotFoundAppError(
              `This broker has no live record of token ${tokenId}: it expired, or it was minted by another broker instance or before a restart. It still expires at its TTL.`,
            )
          }
          if (record.owner !== ownerKey(identity)) {
            throw new ForbiddenError(`Token ${tokenId} was minted by another identity; only that identity may revoke it.`)
          }
          await d.minter.revoke(tokenId)
          await d.ownership.delete(tokenId)
        },
        () => ({ reason: 'revoked by its owner' }),
      ),
  }
}

function noteRequest(a: AuditScope, request: MintRequest): MintRequest {
  a.repos = request.repos
  a.permission = request.permission
  a.ttlSeconds = request.ttlSeconds
  return request
}

async function mintFor(d: Parts, call: TokenCall, a: AuditScope, request: MintRequest): Promise<MintOutcome> {
  const identity = await authenticateMint(d, call, a)
  let minted: MintedToken | undefined
  try {
    const decision = d.policy.authorizeMint(identity, request)
    a.decision = decision
    if (!decision.allowed || !decision.grant) throw new ForbiddenError(decision.reason)
    const { ttlSeconds, clamped } = grantedTtl(decision, request)
    minted = await d.minter.mint({
      repos: request.repos,
      permission: request.permission,
      ttlSeconds,
      maxTtlSeconds: decision.grant.maxTtlSeconds,
      subject: identity.subject,
    })
    a.ttlSeconds = minted.ttlSeconds
    a.tokenId = minted.record.id
    await d.ownership.put({ tokenId: minted.record.id, owner: ownerKey(identity), expiresAt: minted.expiresAt })
    return {
      ...minted,
      repos: request.repos,
      permission: request.permission,
      rule: decision.rule ?? '',
      requestedTtlSeconds: request.ttlSeconds,
      clamped,
    }
  } catch (err) {
    // Only a minted token makes the single use final: anything else (429, 403,
    // githosted down) gives the OIDC token back so the job can retry with it.
    if (!minted) await releaseMint(d, call, identity)
    throw err
  }
}

/**
 * Authenticates for a mint. The single-use claim, the identity's limit and
 * the source address's limit go out together; a request refused by
 * authentication from an address over its limit is answered 429, so a
 * flood of forged tokens meets the limit like any other.
 */
async function authenticateMint(d: Parts, call: TokenCall, a: AuditScope): Promise<CallerIdentity> {
  try {
    return await d.authenticator.authenticate(call.authorization, 'mint', {
      alongside: async (id) => {
        a.identity = id
        // Authenticated callers only: the workspace token is read while the table answers the claim
        // and the limits, instead of after them (the mint awaits the same in-flight read).
        d.workspaceToken.get().catch(() => undefined)
        await Promise.all([call.ipChecked(), enforceRateLimit(d.rateLimiter, rateLimitKey(id), 'token requests')])
      },
    })
  } catch (err) {
    if (err instanceof AppError && err.status === 401) await call.ipChecked()
    throw err
  }
}

/** Releases a mint claim; a failure is logged and never changes the response. */
async function releaseMint(d: Parts, call: TokenCall, identity: CallerIdentity): Promise<void> {
  if (!d.authenticator.releaseMint) return
  try {
    await d.authenticator.releaseMint(identity)
  } catch (err) {
    d.logger.warn('could not release the OIDC token after a failed mint; it stays used until it expires', {
      requestId: call.requestId,
      code: err instanceof AppError ? err.code : 'INTERNAL',
    })
  }
}

/** The policy's clamp when it gives one; otherwise the request's TTL, capped by the grant. */
function grantedTtl(decision: Decision, request: MintRequest): { ttlSeconds: number; clamped: boolean } {
  if (decision.ttlSeconds !== undefined) return { ttlSeconds: decision.ttlSeconds, clamped: decision.clamped ?? false }
  const max = decision.grant?.maxTtlSeconds ?? request.ttlSeconds
  return { ttlSeconds: Math.min(request.ttlSeconds, max), clamped: request.ttlSeconds > max }
}

/** A caller no rule is meant for learns nothing about the policy (the audit line has the trace). */
function explanation(decision: Decision, request: MintRequest): Explanation {
  if (!decision.identified) return { dryRun: true, allowed: false, reason: decision.reason, request }
  return {
    dryRun: true,
    allowed: decision.allowed,
    rule: decision.rule,
    reason: decision.reason,
    request,
    ...(decision.allowed ? grantedTtl(decision, request) : {}),
    grant: decision.grant,
    trace: callerTrace(decision),
  }
}
