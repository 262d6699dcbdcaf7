/**
 * The token endpoints: HTTP onto the token service (lib/tokens/service.ts),
 * over the edge kit (lib/edge/app.ts). The same app runs on Lambda
 * (handler.ts), under `npm start` and in tests.
 *
 *   POST   /ci/token        seed-compatible: body `{"repo","ttl"}`, answers the bare token (text/plain)
 *   POST   /v1/tokens       JSON in/out; `?dryRun=true` explains the decision without minting
 *   DELETE /v1/tokens/:id   revoke a token this identity minted
 *   GET    /healthz         liveness; touches no secret
 */
import type { Context } from 'hono'
import { DEFAULT_MAX_BODY_BYTES, limitBody, readFields } from '../lib/edge/body.js'
import { callOf, createFunctionApp, lazyDeps, type EdgeEnv } from '../lib/edge/app.js'
import { MethodNotAllowedError } from '../lib/edge/errors.js'
import { problemResponse } from '../lib/edge/problem.js'
import { ipChecked, startSourceIpCheck } from '../lib/edge/source-ip.js'
import { AppError } from '../lib/errors.js'
import { createTokenService, type TokenCall, type TokenService, type TokenServiceDeps } from '../lib/tokens/service.js'
import { parseApiTokenRequest, parseCiTokenRequest } from './request.js'
import { mintResponse } from './response.js'

export type TokenAppDeps = TokenServiceDeps & {
  /** Request ids where API Gateway gives none (tests pass a counter). Default: random UUID. */
  requestId?: () => string
}

export interface TokenAppOptions {
  /** Request body limit; larger bodies get 413. Default 16 KiB. */
  maxBodyBytes?: number
}

type C = Context<EdgeEnv<TokenService, { ipCheck?: Promise<void> }>>

const CI_TOKEN_PATH = '/ci/token'

/**
 * `deps` may be a function: it is then called on the first request that needs
 * it (and again after a failure), so a Lambda reports a missing environment
 * variable as a 500 problem instead of crashing INIT.
 */
export function createTokenApp(deps: TokenAppDeps | (() => TokenAppDeps), options: TokenAppOptions = {}) {
  const service = lazyDeps(deps, createTokenService)
  const app = createFunctionApp<TokenService, { ipCheck?: Promise<void> }>({
    deps: service,
    depsOn: ['/ci/*', '/v1/*'],
    renderError,
    ...(typeof deps === 'function' ? {} : deps.requestId ? { newRequestId: deps.requestId } : {}),
  })
  for (const path of ['/ci/*', '/v1/*']) {
    // The per-address count starts on arrival; the service awaits it with its other checks.
    app.use(path, startSourceIpCheck(() => service().ipRateLimiter))
    app.use(path, limitBody(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES))
  }

  app.post(CI_TOKEN_PATH, async (c) => {
    const minted = await c.var.deps.mint(tokenCall(c), async () => parseCiTokenRequest(await readFields(c, { allowForm: true })))
    c.header('cache-control', 'no-store')
    c.header('x-token-id', minted.record.id)
    c.header('x-token-expires-at', minted.expiresAt.toISOString())
    // Bare token, no trailing newline: `TOKEN=$(curl -s ...)` must capture it exactly.
    return c.body(minted.token, 200, { 'content-type': 'text/plain; charset=utf-8' })
  })

  app.post('/v1/tokens', async (c) => {
    const parse = async () => parseApiTokenRequest(await readFields(c))
    if (['true', '1'].includes(c.req.query('dryRun') ?? '')) return c.json(await c.var.deps.explain(tokenCall(c), parse), 200)
    const minted = await c.var.deps.mint(tokenCall(c), parse)
    c.header('cache-control', 'no-store')
    return c.json(mintResponse(minted), 201)
  })

  app.delete('/v1/tokens/:id', async (c) => {
    await c.var.deps.revoke(tokenCall(c), c.req.param('id'))
    return c.body(null, 204)
  })

  return app
}

function tokenCall(c: C): TokenCall {
  return { ...callOf(c), authorization: c.req.header('authorization'), ipChecked: () => ipChecked(c) }
}

/**
 * `/ci/token` callers read stdout of `curl -s`, so they get one plain-text
 * line; everything else gets problem+json.
 */
function renderError(c: C, err: unknown): Response {
  const requestId = c.get('requestId')
  if (c.req.path !== CI_TOKEN_PATH) return problemResponse(c, err, requestId)
  const known = err instanceof AppError ? err : undefined
  const message = known ? known.message.replace(/[\r\n]+/g, ' ') : 'Internal error; the request id identifies it in the logs.'
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' }
  const retry = known?.details().retryAfterSeconds
  if (typeof retry === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retry)))
  if (err instanceof MethodNotAllowedError) headers.allow = err.allow.join(', ')
  return c.body(`error: ${message} (${known?.code ?? 'INTERNAL'}, request ${requestId})\n`, (known?.status ?? 500) as 400, headers)
}
