/**
 * The status function: the deployment state of a config repo as JSON
 * (`GET /v1/status`, `GET /v1/status/{environment}/history`) and as a
 * server-rendered dashboard (`GET /`, refreshed through `GET /?fragment=1`),
 * over the status service (lib/status/service.ts) and the edge kit
 * (lib/edge/app.ts). The same app runs on Lambda (handler.ts), under
 * `npm start` and in tests.
 *
 * Read-only by construction: every read uses a separate `gr_` read token
 * (never the workspace token) and the app has no route that writes; write
 * methods get 405. The JSON API takes the same caller authentication as the
 * other endpoints (OIDC or broker key); the page takes a viewer credential
 * exchanged for a session cookie (see lib/status/viewer-access.ts).
 */
import type { Context, Next } from 'hono'
import { createLogger, type Logger } from '../lib/observability/logger.js'
import type { CallerIdentity } from '../lib/auth/types.js'
import { callOf, createFunctionApp, lazyDeps, type EdgeEnv } from '../lib/edge/app.js'
import { MethodNotAllowedError } from '../lib/edge/errors.js'
import { problemResponse } from '../lib/edge/problem.js'
import { sourceIpLimit } from '../lib/edge/source-ip.js'
import { AppError } from '../lib/errors.js'
import { DEFAULT_LAYOUT } from '../lib/status/layout.js'
import { createStatusService, type ConditionalRead, type StatusService, type StatusServiceDeps } from '../lib/status/service.js'
import type { ViewerAccess } from '../lib/status/viewer-access.js'
import { dashboardErrorPage, serveDashboard, type Dashboard } from './dashboard.js'

export interface StatusAppDeps extends StatusServiceDeps {
  /** Checks the dashboard's viewer credential and sessions; without it the page is closed. */
  viewer?: ViewerAccess
  /** How often the page refreshes itself. Default 15 s. */
  refreshSeconds?: number
  /** max-age of JSON responses. Default 5 s. */
  cacheSeconds?: number
  /** Commit links on the dashboard: a URL with `{repo}` and `{sha}` (COMMIT_URL_TEMPLATE). */
  commitUrlTemplate?: string
}

interface Status {
  service: StatusService
  logger: Logger
  /** Cache-Control of the JSON reads. */
  cacheControl: string
  dashboard: Dashboard
}

type Vars = { identity?: CallerIdentity }
type C = Context<EdgeEnv<Status, Vars>>

const READ_PATHS = ['/v1/status', '/v1/status/:environment/history', '/']

/**
 * `deps` may be a function: it is then called on the first request (and
 * again after a failure), so a Lambda reports a missing environment variable
 * as a 500 problem instead of crashing INIT. No I/O happens before a request.
 */
export function createStatusApp(deps: StatusAppDeps | (() => StatusAppDeps)) {
  const status = lazyDeps(deps, resolve)
  const app = createFunctionApp<Status, Vars>({ deps: status, depsOn: ['*'], around: requestLog, renderError })

  // Nothing here writes: say so to write methods instead of a bare 404.
  for (const path of READ_PATHS) app.on(['POST', 'PUT', 'PATCH', 'DELETE'], path, readOnly)
  // Before authentication, so forged or replayed tokens and dashboard key guessing are bounded too.
  app.use('*', sourceIpLimit(() => status().service.ipRateLimiter))
  // Only the status routes authenticate: a path this function does not serve is a plain 404.
  app.use('/v1/status/*', async (c, next) => {
    c.set('identity', await c.var.deps.service.authenticate(c.req.header('authorization')))
    await next()
  })

  // The contract, built on first request from a lazily loaded chunk: no cold-start cost here or in the token function.
  let openApi: Promise<unknown> | undefined
  app.get('/openapi.json', async (c) => {
    openApi ??= import('../lib/openapi/document.js').then((m) => m.buildOpenApiDocument())
    return c.json(await openApi, 200, { 'cache-control': 'public, max-age=300' })
  })

  app.get('/v1/status', async (c) =>
    conditionalJson(c, await c.var.deps.service.status({ ...apiRead(c), history: c.req.query('history') })),
  )

  app.get('/v1/status/:environment/history', async (c) =>
    conditionalJson(
      c,
      await c.var.deps.service.history({ ...apiRead(c), environment: c.req.param('environment'), limit: c.req.query('limit') }),
    ),
  )

  app.get('/', (c) => serveDashboard(c, c.var.deps.dashboard))

  return app
}

function resolve(d: StatusAppDeps): Status {
  const logger = d.logger ?? createLogger()
  const clock = d.clock ?? (() => new Date())
  const service = createStatusService({ ...d, logger, clock })
  const { viewer, commitUrlTemplate } = d
  const imagePointer = (d.layout ?? DEFAULT_LAYOUT).imagePointer
  return {
    service,
    logger,
    cacheControl: `private, max-age=${d.cacheSeconds ?? 5}`,
    dashboard: { service, viewer, logger, clock, refreshSeconds: d.refreshSeconds ?? 15, commitUrlTemplate, imagePointer },
  }
}

function apiRead(c: C) {
  return { ...callOf(c), identity: c.var.identity!, repo: c.req.query('repo'), ifNoneMatch: c.req.header('if-none-match') }
}

function conditionalJson(c: C, read: ConditionalRead<unknown>): Response {
  const headers = { etag: read.etag, 'cache-control': c.var.deps.cacheControl, vary: 'Authorization' }
  return read.notModified ? c.body(null, 304, headers) : c.json(read.report, 200, headers)
}

/** Outside the kit's 404/405 fallbacks, so the line has the status the caller got. */
async function requestLog(c: C, next: Next) {
  const started = performance.now()
  await next()
  // The path only: the dashboard's login URL carries the viewer credential in its query.
  built(c)?.logger.info('status request', {
    requestId: c.var.requestId,
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    caller: c.var.identity?.subject,
    durationMs: Math.round(performance.now() - started),
  })
}

/** Undefined when the dependencies could not be built (the response is that failure) or were not needed. */
function built(c: C): Status | undefined {
  return c.var.deps as Status | undefined
}

function readOnly(c: C): Response {
  const err = new MethodNotAllowedError(c.req.method, ['GET'])
  if (c.req.path.startsWith('/v1/')) {
    c.header('allow', 'GET, HEAD')
    return problemResponse(c, err, c.var.requestId)
  }
  return c.text(err.message, 405, { allow: 'GET, HEAD' })
}

/**
 * Errors thrown outside the JSON API render as the dashboard's page (a
 * person is looking); the rest are problem+json: the JSON API, the kit's
 * 404/405 fallbacks (Hono sets `c.error` only for thrown errors) and a
 * configuration failure, which answers the same on every path.
 */
function renderError(c: C, err: unknown): Response {
  const deps = built(c)
  if (c.error && (!(err instanceof AppError) || err.status >= 500)) {
    deps?.logger.error('status request failed', { requestId: c.var.requestId, path: c.req.path, error: err })
  }
  if (!c.error || !deps || c.req.path.startsWith('/v1/')) return problemResponse(c, err, c.var.requestId)
  return dashboardErrorPage(c, err)
}
