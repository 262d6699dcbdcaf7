/**
 * The token endpoints as a Hono app over injected dependencies, so the same
 * app runs on Lambda (handler.ts), under `npm start` and in tests.
 *
 *   POST   /ci/token        seed-compatible: body `{"repo","ttl"}`, answers the bare token (text/plain)
 *   POST   /v1/tokens       JSON in/out; `?dryRun=true` explains the decision without minting
 *   DELETE /v1/tokens/:id   revoke a token this identity minted
 *   GET    /healthz         liveness; touches no secret
 *
 * Order inside a mint: validate the body (so a bad request does not burn a
 * single-use OIDC token), authenticate, rate-limit, ask the policy, mint,
 * record ownership, audit. If no token gets minted after authenticating, the
 * OIDC token's single use is released. Every decision writes exactly one
 * audit line. That flow lives in mint-flow.ts, free of Hono; this file maps
 * HTTP onto it.
 */
import { Hono, type Context } from 'hono'
import type { Auditor } from '../lib/audit/audit.js'
import type { Logger } from '../lib/audit/logger.js'
import type { Authenticator } from '../lib/auth/types.js'
import { AppError, ForbiddenError, NotFoundAppError, ValidationError } from '../lib/errors.js'
import type { GithostedClientFactory } from '../lib/githosted/types.js'
import { DEFAULT_MAX_BODY_BYTES, limitBody, readFields } from '../lib/edge/body.js'
import { formatDuration } from '../lib/duration.js'
import { installRouteFallbacks } from '../lib/edge/fallbacks.js'
import { MethodNotAllowedError } from '../lib/edge/errors.js'
import { problemResponse } from '../lib/edge/problem.js'
import { enforceRateLimit, rateLimitKey, ipChecked, startSourceIpCheck, sourceIpOf, type RateLimiter } from '../lib/edge/rate-limit.js'
import { callerTrace } from '../lib/policy/evaluate.js'
import type { Decision, MintRequest, Policy } from '../lib/policy/types.js'
import type { SecretSource } from '../lib/secrets/source.js'
import { audited, mintAudited, resolveTokenDeps, type ResolvedDeps, type TokenCall } from '../lib/tokens/service.js'
import { ownerKey, type OwnershipStore } from '../lib/tokens/ownership.js'
import { parseApiTokenRequest, parseCiTokenRequest } from './request.js'

export interface TokenAppDeps {
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
  requestId?: () => string
  /** Who minted what (for DELETE). Default: in memory, per container. */
  ownership?: OwnershipStore
  /** Where audit records go. Default: `logger` (give one that LOG_LEVEL cannot silence). */
  auditor?: Auditor
}

export interface TokenAppOptions {
  /** Request body limit; larger bodies get 413. Default 16 KiB. */
  maxBodyBytes?: number
}

/** Lambda bindings when running behind hono/aws-lambda; `remoteAddress` from the local adapter. */
export interface TokenAppBindings {
  event?: { requestContext?: { requestId?: string; http?: { sourceIp?: string } } }
  remoteAddress?: string
}

interface Vars {
  requestId: string
  deps: ResolvedDeps
}

type AppEnv = { Bindings: TokenAppBindings; Variables: Vars }
type C = Context<AppEnv>

const CI_TOKEN_PATH = '/ci/token'
const TOKEN_ID_RE = /^[A-Za-z0-9_-]{1,128}$/

/**
 * Builds the app. `deps` may be a function: it is then called on the first
 * request that needs it (and again after a failure), so a Lambda can report
 * a missing environment variable as a 500 problem instead of crashing INIT.
 */
export function createTokenApp(deps: TokenAppDeps | (() => TokenAppDeps), options: TokenAppOptions = {}) {
  let resolved: ResolvedDeps | undefined
  const resolve = (): ResolvedDeps => {
    if (resolved) return resolved
    resolved = resolveTokenDeps(typeof deps === 'function' ? deps() : deps)
    return resolved
  }
  const newRequestId = () => {
    const generate = resolved?.requestId ?? (typeof deps === 'function' ? undefined : deps.requestId)
    return generate?.() ?? crypto.randomUUID()
  }
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES

  const app = new Hono<AppEnv>()

  app.use(async (c, next) => {
    // API Gateway's id links our lines to its access log; elsewhere we make one.
    const id = c.env?.event?.requestContext?.requestId ?? newRequestId()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  })
  installRouteFallbacks(app, renderError)

  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  // Everything below needs the dependencies (and may fail on configuration).
  app.use('/ci/*', withDeps(resolve))
  app.use('/v1/*', withDeps(resolve))
  // The per-IP count starts here and is awaited with the mint's other checks (see mintFor).
  app.use('/ci/*', startSourceIpCheck(() => resolve().ipRateLimiter))
  app.use('/v1/*', startSourceIpCheck(() => resolve().ipRateLimiter))
  app.use('/ci/*', limitBody(maxBody))
  app.use('/v1/*', limitBody(maxBody))

  app.post(CI_TOKEN_PATH, async (c) => {
    const d = c.get('deps')
    const minted = await mintAudited(d, callOf(c), async () => parseCiTokenRequest(await readFields(c, { allowForm: true })))
    c.header('cache-control', 'no-store')
    c.header('x-token-id', minted.record.id)
    c.header('x-token-expires-at', minted.expiresAt.toISOString())
    // Bare token, no trailing newline: `TOKEN=$(curl -s ...)` must capture it exactly.
    return c.body(minted.token, 200, { 'content-type': 'text/plain; charset=utf-8' })
  })

  app.post('/v1/tokens', async (c) => {
    const d = c.get('deps')
    const dryRun = ['true', '1'].includes(c.req.query('dryRun') ?? '')
    if (dryRun) {
      const out = await audited(d, callOf(c), 'token.explain', async (a) => {
        const request = parseApiTokenRequest(await readFields(c))
        a.request = request
        await ipChecked(c)
        // Explaining must not consume a single-use OIDC token.
        a.identity = await d.authenticator.authenticate(c.req.header('authorization'), 'read')
        await enforceRateLimit(d.rateLimiter, rateLimitKey(a.identity), 'token requests')
        const decision = d.policy.authorizeMint(a.identity, request)
        a.decision = decision
        a.explainOnly = true
        return explain(decision, request)
      })
      return c.json(out, 200)
    }
    const minted = await mintAudited(d, callOf(c), async () => parseApiTokenRequest(await readFields(c)))
    const requested = minted.requestedTtlSeconds
    const clamped = minted.ttlSeconds < requested
    c.header('cache-control', 'no-store')
    return c.json(
      {
        token: minted.token,
        tokenId: minted.record.id,
        expiresAt: minted.expiresAt.toISOString(),
        repos: minted.repos,
        permission: minted.permission,
        rule: minted.rule,
        ttlSeconds: minted.ttlSeconds,
        ...(clamped
          ? {
              clamped: true,
              note: `Requested ${formatDuration(requested)}; the policy allows at most ${formatDuration(minted.ttlSeconds)}.`,
            }
          : {}),
        ...(minted.method === 'create' && minted.ttlSeconds > requested
          ? { note: `This githosted server mints whole hours only; the token lives ${formatDuration(minted.ttlSeconds)}.` }
          : {}),
      },
      201,
    )
  })

  app.delete('/v1/tokens/:id', async (c) => {
    const d = c.get('deps')
    const id = c.req.param('id')
    await audited(d, callOf(c), 'token.revoke', async (a) => {
      if (!TOKEN_ID_RE.test(id)) throw new ValidationError('Token id has an invalid format.', 'id')
      a.tokenId = id
      await ipChecked(c)
      a.identity = await d.authenticator.authenticate(c.req.header('authorization'), 'read')
      await enforceRateLimit(d.rateLimiter, rateLimitKey(a.identity), 'token requests')
      const record = await d.ownership.get(id)
      if (!record) {
        throw new NotFoundAppError(
          `This broker has no live record of token ${id}: it expired, or it was minted by another broker instance or before a restart. It still expires at its TTL.`,
        )
      }
      if (record.owner !== ownerKey(a.identity)) {
        throw new ForbiddenError(`Token ${id} was minted by another identity; only that identity may revoke it.`)
      }
      await d.minter.revoke(id)
      await d.ownership.delete(id)
      a.reason = 'revoked by its owner'
    })
    return c.body(null, 204)
  })

  app.onError((err, c) => renderError(c, err))

  return app
}

function explain(decision: Decision, request: MintRequest) {
  // A caller no rule is meant for learns nothing about the policy (the audit line has the trace).
  if (!decision.identified) return { dryRun: true, allowed: false, reason: decision.reason, request }
  const max = decision.grant?.maxTtlSeconds
  const ttlSeconds = max !== undefined ? Math.min(request.ttlSeconds, max) : request.ttlSeconds
  return {
    dryRun: true,
    allowed: decision.allowed,
    rule: decision.rule,
    reason: decision.reason,
    request,
    ...(decision.allowed ? { ttlSeconds, clamped: ttlSeconds < request.ttlSeconds } : {}),
    grant: decision.grant,
    trace: callerTrace(decision),
  }
}

/** The request as the framework-free mint flow sees it. */
function callOf(c: C): TokenCall {
  return {
    requestId: c.get('requestId'),
    authorization: c.req.header('authorization'),
    sourceIp: sourceIp(c),
    ipChecked: () => ipChecked(c),
  }
}

function withDeps(resolve: () => ResolvedDeps) {
  return async (c: C, next: () => Promise<void>) => {
    c.set('deps', resolve())
    await next()
  }
}

function sourceIp(c: C): string | undefined {
  return sourceIpOf(c.env)
}

/**
 * Errors as the endpoint's clients expect them: `/ci/token` callers read
 * stdout of `curl -s`, so they get one plain-text line; everything else gets
 * problem+json.
 */
function renderError(c: C, err: unknown): Response {
  const requestId = c.get('requestId')
  if (c.req.path === CI_TOKEN_PATH) {
    const status = err instanceof AppError ? err.status : 500
    const code = err instanceof AppError ? err.code : 'INTERNAL'
    const message =
      err instanceof AppError ? err.message.replace(/[\r\n]+/g, ' ') : 'Internal error; the request id identifies it in the logs.'
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' }
    const retry = err instanceof AppError ? err.details().retryAfterSeconds : undefined
    if (typeof retry === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retry)))
    if (err instanceof MethodNotAllowedError) headers.allow = err.allow.join(', ')
    return c.body(`error: ${message} (${code}, request ${requestId})\n`, status as 400, headers)
  }
  const res = problemResponse(c, err, requestId)
  if (err instanceof MethodNotAllowedError) res.headers.set('allow', err.allow.join(', '))
  return res
}
