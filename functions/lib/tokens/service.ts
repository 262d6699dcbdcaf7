/**
 * The token endpoints' decision flow, free of any web framework: resolving
 * the dependencies' defaults, authenticating a mint (single-use claim,
 * identity limit and source-address limit together), asking the policy,
 * minting, recording ownership, and writing exactly one audit line per
 * decision. The Hono app (app.ts) calls it, and so does the Express peer the
 * benchmarks compare it with, so the comparison is framework against
 * framework over one implementation.
 */
import type { Auditor } from '../audit/audit.js'
import { createAuditor, fingerprint } from '../audit/audit.js'
import type { CallerIdentity } from '../auth/types.js'
import { AppError, ForbiddenError } from '../errors.js'
import { createTokenBucketLimiter, enforceRateLimit, rateLimitKey, SOURCE_IP_LIMIT, type RateLimiter } from '../edge/rate-limit.js'
import type { Decision, MintRequest } from '../policy/types.js'
import { createMinter, type MintedToken } from './mint.js'
import type { TokenAppDeps } from '../../token/app.js'
import { createMemoryOwnershipStore, ownerKey, type OwnershipStore } from './ownership.js'

export interface ResolvedDeps extends TokenAppDeps {
  clock: () => Date
  rateLimiter: RateLimiter
  ipRateLimiter: RateLimiter
  ownership: OwnershipStore
  auditor: Auditor
  minter: ReturnType<typeof createMinter>
}

/** The injected dependencies with every default filled in. */
export function resolveTokenDeps(d: TokenAppDeps): ResolvedDeps {
  const clock = d.clock ?? (() => new Date())
  return {
    ...d,
    clock,
    rateLimiter: d.rateLimiter ?? createTokenBucketLimiter({ clock }),
    ipRateLimiter: d.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, clock }),
    ownership: d.ownership ?? createMemoryOwnershipStore({ clock }),
    auditor: d.auditor ?? createAuditor(d.logger),
    minter: createMinter({ workspaceToken: d.workspaceToken, githosted: d.githosted, clock }),
  }
}

/** What the flow needs to know about one HTTP request, whatever framework received it. */
export interface TokenCall {
  requestId: string
  authorization: string | undefined
  sourceIp: string | undefined
  /** Waits for the per-address check started when the request arrived; rejects with its 429. */
  ipChecked(): Promise<void>
}

/** Per-request audit context, filled as the request progresses. */
export interface AuditContext {
  identity?: CallerIdentity
  request?: MintRequest
  decision?: Decision
  tokenId?: string
  reason?: string
  explainOnly?: boolean
  minted?: MintedToken & { clamped: boolean }
}

export interface MintOutcome extends MintedToken {
  repos: string[]
  permission: MintRequest['permission']
  rule: string
  requestedTtlSeconds: number
}

/** A whole audited mint: `parse` reads and validates the body first, so a bad body burns no OIDC token. */
export function mintAudited(d: ResolvedDeps, call: TokenCall, parse: () => Promise<MintRequest> | MintRequest): Promise<MintOutcome> {
  return audited(d, call, 'token.mint', async (a) => {
    const request = await parse()
    a.request = request
    return mintFor(d, call, a, request)
  })
}

export async function mintFor(d: ResolvedDeps, call: TokenCall, a: AuditContext, request: MintRequest): Promise<MintOutcome> {
  const identity = await authenticateMint(d, call, a)
  try {
    return await mintAs(d, a, identity, request)
  } catch (err) {
    // Only a minted token makes the single use final: anything else (429, 403,
    // githosted down) gives the OIDC token back so the job can retry with it.
    if (!a.minted) await releaseMint(d, call, identity)
    throw err
  }
}

/**
 * Authenticates for a mint. The single-use claim, the identity's limit and
 * the source address's limit go out together; a request refused by
 * authentication from an address over its limit is answered 429, so a
 * flood of forged tokens meets the limit like any other.
 */
async function authenticateMint(d: ResolvedDeps, call: TokenCall, a: AuditContext): Promise<CallerIdentity> {
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
async function releaseMint(d: ResolvedDeps, call: TokenCall, identity: CallerIdentity): Promise<void> {
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

async function mintAs(d: ResolvedDeps, a: AuditContext, identity: CallerIdentity, request: MintRequest): Promise<MintOutcome> {
  const decision = d.policy.authorizeMint(identity, request)
  a.decision = decision
  if (!decision.allowed || !decision.grant) throw new ForbiddenError(decision.reason)
  const maxTtl = decision.grant.maxTtlSeconds
  const ttlSeconds = Math.min(request.ttlSeconds, maxTtl)
  const minted = await d.minter.mint({
    repos: request.repos,
    permission: request.permission,
    ttlSeconds,
    maxTtlSeconds: maxTtl,
    subject: identity.subject,
  })
  a.minted = { ...minted, clamped: ttlSeconds < request.ttlSeconds }
  await d.ownership.put({ tokenId: minted.record.id, owner: ownerKey(identity), expiresAt: minted.expiresAt })
  return {
    ...minted,
    repos: request.repos,
    permission: request.permission,
    rule: decision.rule ?? '',
    requestedTtlSeconds: request.ttlSeconds,
  }
}

/** Runs one decision and writes its audit line, whatever the outcome. */
export async function audited<T>(d: ResolvedDeps, call: TokenCall, event: string, fn: (a: AuditContext) => Promise<T>): Promise<T> {
  const a: AuditContext = {}
  const base = () => ({
    event,
    requestId: call.requestId,
    identity: a.identity,
    rule: a.decision?.rule,
    repos: a.request?.repos,
    permission: a.request?.permission,
    sourceIp: call.sourceIp,
  })
  try {
    const out = await fn(a)
    d.auditor.record({
      ...base(),
      outcome: 'allowed',
      code: 'OK',
      reason: a.reason ?? (a.explainOnly ? `explained: ${a.decision?.reason ?? ''}` : a.decision?.reason ?? 'allowed'),
      ttlSeconds: a.minted?.ttlSeconds ?? a.request?.ttlSeconds,
      tokenId: a.minted?.record.id ?? a.tokenId,
      tokenFingerprint: a.minted ? fingerprint(a.minted.token) : undefined,
      extra: a.minted
        ? { method: a.minted.method, clamped: a.minted.clamped, expiresAt: a.minted.expiresAt.toISOString() }
        : a.explainOnly
          ? { dryRun: true, wouldAllow: a.decision?.allowed ?? false, trace: a.decision?.trace }
          : undefined,
    })
    return out
  } catch (err) {
    const app = err instanceof AppError ? err : undefined
    d.auditor.record({
      ...base(),
      outcome: app && app.status < 500 ? 'denied' : 'error',
      code: app?.code ?? 'INTERNAL',
      reason: app?.message ?? 'internal error',
      ttlSeconds: a.request?.ttlSeconds,
      tokenId: a.tokenId,
      // The full trace (every rule, with required values) is for operators only.
      extra: a.decision ? { trace: a.decision.trace } : undefined,
    })
    if (!app) d.logger.error('unhandled error', { requestId: call.requestId, err })
    throw err
  }
}
