/**
 * The status function: the deployment state of a config repo as JSON
 * (`GET /v1/status`, `GET /v1/status/{environment}/history`) and as a
 * server-rendered dashboard (`GET /`, refreshed through `GET /?fragment=1`).
 *
 * Read-only by construction: every read uses a separate `gr_` read token
 * (never the workspace token) and the app has no route that writes; write
 * methods get 405. The JSON API takes the same caller authentication as the
 * other endpoints (OIDC or broker key); the page takes a viewer credential
 * exchanged for a session cookie (see lib/status/viewer-access.ts).
 */
import { Hono, type Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { randomBytes, randomUUID } from 'node:crypto'
import { createLogger, type Logger } from '../lib/audit/logger.js'
import type { Authenticator, CallerIdentity } from '../lib/auth/types.js'
import { AppError, ForbiddenError, NotFoundAppError, RateLimitedError, ValidationError } from '../lib/errors.js'
import type { GithostedClient, GithostedClientFactory, RepoHandle } from '../lib/githosted/types.js'
import { installRouteFallbacks } from '../lib/edge/fallbacks.js'
import { MethodNotAllowedError } from '../lib/edge/errors.js'
import { problemResponse } from '../lib/edge/problem.js'
import {
  createTokenBucketLimiter,
  enforceRateLimit,
  rateLimitKey,
  SOURCE_IP_LIMIT,
  type RateLimiter,
} from '../lib/limits/rate-limiter.js'
import { sourceIpLimit, type SourceAddressBindings } from '../lib/edge/source-ip.js'
import type { Policy } from '../lib/policy/types.js'
import type { SecretSource } from '../lib/secrets/index.js'
import { etagFor, ifNoneMatchMatches } from '../lib/status/etag.js'
import { assertEnvironmentName, DEFAULT_LAYOUT, type StatusLayout } from '../lib/status/layout.js'
import { createLimiter } from '../lib/status/limiter.js'
import { assertRepoToken } from '../lib/status/read-token.js'
import { readHead, readHistoryReport, readStatusReport } from '../lib/status/report.js'
import { createSnapshotCache } from '../lib/status/snapshot-cache.js'
import type { StatusProblem, StatusReport } from '../lib/status/types.js'
import { VIEWER_COOKIE, type ViewerAccess } from '../lib/status/viewer-access.js'
import { MessagePage, StatusFragment, StatusPage } from './views/page.js'

export const DEFAULT_STATUS_REPO = 'deploy-configs'

export interface StatusAppDeps {
  /** The read-only `gr_` token (DASHBOARD_TOKEN_SECRET_ARN). */
  readToken: SecretSource
  githosted: GithostedClientFactory
  /** Authenticates JSON API callers (OIDC or broker key), purpose `read`. */
  authenticator: Authenticator
  /** When given, API callers also need `authorizeRead` to allow the repo. */
  policy?: Pick<Policy, 'authorizeRead'>
  /** Checks the dashboard's viewer credential and sessions; without it the page is closed. */
  viewer?: ViewerAccess
  /** Repo shown by default (STATUS_REPO). Default `deploy-configs`. */
  repo?: string
  /** Repos `?repo=` may name. Default: only `repo`. */
  repos?: string[]
  layout?: StatusLayout
  logger?: Logger
  clock?: () => Date
  /** Most upstream calls in flight per request. Default 6. */
  concurrency?: number
  /** Deploys shown per environment on the page. Default 5. */
  pageHistoryLimit?: number
  /** How often the page refreshes itself. Default 15 s. */
  refreshSeconds?: number
  /** max-age of JSON responses. Default 5 s. */
  cacheSeconds?: number
  /** Per-identity limiter for the JSON API (keyed by rateLimitKey). Default: burst 30, 120 per minute. */
  rateLimiter?: RateLimiter
  /** Pre-authentication limiter per source IP, API and dashboard. Default: SOURCE_IP_LIMIT. */
  ipRateLimiter?: RateLimiter
  /** Commit links on the dashboard: a URL with `{repo}` and `{sha}` (COMMIT_URL_TEMPLATE). */
  commitUrlTemplate?: string
}

type Env = {
  Variables: { requestId: string; identity: CallerIdentity }
  Bindings: SourceAddressBindings & { event?: { requestContext?: { requestId?: string } } }
}

const SLUG_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

/** Builds the status app; no I/O happens until a request arrives. */
export function createStatusApp(deps: StatusAppDeps): Hono<Env> {
  const defaultRepo = deps.repo ?? DEFAULT_STATUS_REPO
  const allowedRepos = new Set(deps.repos ?? [defaultRepo])
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const logger = deps.logger ?? createLogger()
  const clock = deps.clock ?? (() => new Date())
  const concurrency = deps.concurrency ?? 6
  const pageHistoryLimit = deps.pageHistoryLimit ?? 5
  const refreshSeconds = deps.refreshSeconds ?? 15
  const cacheControl = `private, max-age=${deps.cacheSeconds ?? 5}`
  const reports = createSnapshotCache<StatusReport>()
  const rateLimiter = deps.rateLimiter ?? createTokenBucketLimiter({ capacity: 30, refillPerMinute: 120, clock })
  const ipRateLimiter = deps.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, clock })
  let current: { token: string; client: GithostedClient } | undefined

  const app = new Hono<Env>()

  /** A repo handle on the read token; a rejected token is refetched next time (rotation). */
  async function openRepo(slug: string): Promise<RepoHandle> {
    const token = assertRepoToken(await deps.readToken.get())
    if (current?.token !== token) current = { token, client: deps.githosted(token) }
    return current.client.repo(slug)
  }

  async function upstream<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (err instanceof AppError && err.code === 'GITHOSTED_UNAUTHENTICATED') deps.readToken.invalidate()
      throw err
    }
  }

  function loadReport(handle: RepoHandle, slug: string, head: string | null, historyLimit: number) {
    // One limiter per report: the bound is per request, not shared across viewers.
    return reports.get(`${slug}\n${historyLimit}\n${head ?? ''}`, () =>
      readStatusReport(handle, head, { repo: slug, limit: createLimiter(concurrency), layout, historyLimit }),
    )
  }

  function resolveRepo(requested: string | undefined): string {
    const slug = requested ?? defaultRepo
    if (!SLUG_RE.test(slug)) throw new ValidationError('repo must be a repo slug', 'repo')
    if (!allowedRepos.has(slug)) {
      throw new NotFoundAppError(`repo ${slug} is not shown by this status endpoint`)
    }
    return slug
  }

  app.use('*', async (c, next) => {
    const started = performance.now()
    c.set('requestId', c.env?.event?.requestContext?.requestId ?? randomUUID())
    await next()
    // The path only: the dashboard's login URL carries the viewer credential in its query.
    logger.info('status request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      caller: c.get('identity')?.subject,
      durationMs: Math.round(performance.now() - started),
    })
  })
  installRouteFallbacks(app, (c, err) => problemResponse(c, err, c.get('requestId')))

  app.onError((err, c) => {
    if (!(err instanceof AppError) || err.status >= 500) {
      logger.error('status request failed', { requestId: c.get('requestId'), path: c.req.path, error: err })
    }
    if (c.req.path.startsWith('/v1/')) return problemResponse(c, err, c.get('requestId'))
    const status = err instanceof AppError ? err.status : 500
    if (err instanceof RateLimitedError) c.header('retry-after', String(err.retryAfterSeconds))
    if (c.req.query('fragment') !== undefined) {
      return c.text(err instanceof AppError ? err.message : 'internal error', status as 500)
    }
    const nonce = newNonce()
    return htmlResponse(c, status, nonce, MessagePage({
      title: 'Dashboard unavailable',
      nonce,
      children: html`<p>${err instanceof AppError ? err.message : 'Internal error.'}</p>
        <p>Request id <code>${c.get('requestId')}</code>.</p>`,
    }))
  })

  // Nothing here writes: say so to write methods instead of a bare 404.
  const readOnly = (c: Context<Env>) => {
    const err = new MethodNotAllowedError(c.req.method, ['GET'])
    if (c.req.path.startsWith('/v1/')) {
      c.header('allow', 'GET, HEAD')
      return problemResponse(c, err, c.get('requestId'))
    }
    return c.text(err.message, 405, { allow: 'GET, HEAD' })
  }
  for (const path of ['/v1/status', '/v1/status/:environment/history', '/']) {
    app.on(['POST', 'PUT', 'PATCH', 'DELETE'], path, readOnly)
  }

  // Before authentication, so forged or replayed tokens and dashboard key guessing are bounded too.
  app.use('*', sourceIpLimit(() => ipRateLimiter))

  // Only the status routes authenticate: a path this function does not serve is a plain 404.
  app.use('/v1/status/*', async (c, next) => {
    const identity = await deps.authenticator.authenticate(c.req.header('authorization'), 'read')
    c.set('identity', identity)
    await enforceRateLimit(rateLimiter, rateLimitKey(identity), 'status requests')
    await next()
  })

  function authorize(c: Context<Env>, slug: string) {
    if (!deps.policy) return
    const decision = deps.policy.authorizeRead(c.get('identity'), slug)
    if (!decision.allowed) {
      // The caller gets decision.reason (generic unless a rule is meant for it); operators get the trace.
      logger.info('status read denied', { requestId: c.get('requestId'), trace: decision.trace })
      throw new ForbiddenError(decision.reason)
    }
  }

  // The contract, built on first request from a lazily loaded chunk: no cold-start cost here or in the token function.
  let openApi: Promise<unknown> | undefined
  app.get('/openapi.json', async (c) => {
    openApi ??= import('../lib/openapi/document.js').then((m) => m.buildOpenApiDocument())
    return c.json(await openApi, 200, { 'cache-control': 'public, max-age=300' })
  })

  app.get('/v1/status', async (c) => {
    const slug = resolveRepo(c.req.query('repo'))
    authorize(c, slug)
    const historyLimit = intParam(c.req.query('history'), 'history', 0, 0, 20)
    return upstream(async () => {
      const handle = await openRepo(slug)
      const head = await readHead(handle, createLimiter(1))
      const etag = etagFor(`status.h${historyLimit}`, head)
      if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) return notModified(c, etag, cacheControl)
      const report = await loadReport(handle, slug, head, historyLimit)
      return c.json(report, 200, { etag, 'cache-control': cacheControl, vary: 'Authorization' })
    })
  })

  app.get('/v1/status/:environment/history', async (c) => {
    const slug = resolveRepo(c.req.query('repo'))
    authorize(c, slug)
    const environment = assertEnvironmentName(c.req.param('environment'))
    const historyLimit = intParam(c.req.query('limit'), 'limit', 20, 1, 100)
    return upstream(async () => {
      const handle = await openRepo(slug)
      const head = await readHead(handle, createLimiter(1))
      const etag = etagFor(`history.${environment}.l${historyLimit}`, head)
      if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) return notModified(c, etag, cacheControl)
      const report = await readHistoryReport(handle, head, environment, {
        repo: slug,
        limit: createLimiter(concurrency),
        layout,
        historyLimit,
      })
      return c.json(report, 200, { etag, 'cache-control': cacheControl, vary: 'Authorization' })
    })
  })

  // ---- dashboard ----

  async function hasSession(c: Context<Env>): Promise<boolean> {
    if (!deps.viewer) return false
    return deps.viewer.checkSession(getCookie(c, VIEWER_COOKIE), clock())
  }

  // The page's refresh script asks `./?fragment=1` (the same route as the page, so
  // no extra API Gateway route and a stage prefix survives).
  async function serveFragment(c: Context<Env>): Promise<Response> {
    if (!(await hasSession(c))) return c.text('dashboard session required', 401, { 'cache-control': 'no-store' })
    const slug = defaultRepo
    const body = await upstream(async () => {
      const handle = await openRepo(slug)
      const head = await readHead(handle, createLimiter(1))
      const etag = etagFor(`fragment.h${pageHistoryLimit}`, head)
      if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) return { etag }
      return { etag, report: await loadReport(handle, slug, head, pageHistoryLimit) }
    })
    const headers = { etag: body.etag, 'cache-control': 'private, no-cache', vary: 'Cookie' }
    if (!body.report) return c.body(null, 304, headers)
    return c.html(String(StatusFragment({ repo: slug, report: body.report, now: clock(), commitUrlTemplate: deps.commitUrlTemplate, imagePointer: layout.imagePointer })), 200, headers)
  }

  app.get('/', async (c) => {
    if (c.req.query('fragment') !== undefined) return serveFragment(c)
    const key = c.req.query('key')
    if (key !== undefined) {
      if (!deps.viewer || !(await deps.viewer.checkCredential(key))) {
        return unauthorizedPage(c, deps.viewer ? 'bad-key' : 'closed')
      }
      setCookie(c, VIEWER_COOKIE, await deps.viewer.issueSession(clock()), {
        httpOnly: true,
        secure: !isLocalHttp(c.req.url),
        sameSite: 'Strict',
        path: '/',
        maxAge: deps.viewer.sessionTtlSeconds,
      })
      c.header('cache-control', 'no-store')
      c.header('referrer-policy', 'no-referrer')
      // Relative, so a stage prefix (/prod/) survives; 303 drops the credential from history.
      return c.redirect('./', 303)
    }
    if (!(await hasSession(c))) {
      // A SameSite=Strict cookie is not sent on a navigation from another site (a chat
      // link): bounce once through a same-origin navigation, which carries it.
      if (deps.viewer && c.req.header('sec-fetch-site') === 'cross-site') return sameSiteBounce(c)
      return unauthorizedPage(c, deps.viewer ? 'no-session' : 'closed')
    }

    const slug = defaultRepo
    const now = clock()
    const nonce = newNonce()
    let report: StatusReport | undefined
    let failure: StatusProblem | undefined
    let etag: string | undefined
    let status = 200
    try {
      await upstream(async () => {
        const handle = await openRepo(slug)
        const head = await readHead(handle, createLimiter(1))
        etag = etagFor(`fragment.h${pageHistoryLimit}`, head)
        report = await loadReport(handle, slug, head, pageHistoryLimit)
      })
    } catch (err) {
      // The page still renders and says what is wrong.
      ;({ failure, status } = describeFailure(err))
      etag = undefined
      logger.warn('status page read failed', { requestId: c.get('requestId'), error: err })
    }
    return htmlResponse(
      c,
      status,
      nonce,
      StatusPage({ repo: slug, report, failure, now, nonce, etag, refreshSeconds, commitUrlTemplate: deps.commitUrlTemplate, imagePointer: layout.imagePointer }),
    )
  })


  return app
}

function intParam(raw: string | undefined, field: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ValidationError(`${field} must be an integer from ${min} to ${max}`, field)
  }
  return Number(raw)
}

function notModified(c: Context<Env>, etag: string, cacheControl: string): Response {
  return c.body(null, 304, { etag, 'cache-control': cacheControl, vary: 'Authorization' })
}

function newNonce(): string {
  return randomBytes(16).toString('base64')
}

/** http://127.0.0.1 and localhost cannot use Secure cookies; everywhere else must. */
function isLocalHttp(url: string): boolean {
  const u = new URL(url)
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
}

function describeFailure(err: unknown): { failure: StatusProblem; status: number } {
  if (err instanceof AppError) {
    return { failure: { code: err.code, message: err.message }, status: err.status }
  }
  return { failure: { code: 'INTERNAL', message: 'internal error; see the logs' }, status: 500 }
}

function htmlResponse(c: Context<Env>, status: number, nonce: string, body: unknown): Response | Promise<Response> {
  c.header(
    'content-security-policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; ` +
      "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  c.header('x-content-type-options', 'nosniff')
  c.header('referrer-policy', 'no-referrer')
  c.header('cache-control', 'no-store')
  return c.html(html`<!doctype html>${body}`, status as 200)
}

const UNAUTHORIZED_TEXT = {
  'bad-key': 'That viewer credential is not valid (mistyped, or rotated since the link was shared).',
  'no-session': 'This dashboard needs a viewer credential, and this browser has no session (or it expired).',
  closed: 'This deployment has no viewer credential configured, so the dashboard is closed.',
} as const

function unauthorizedPage(c: Context<Env>, why: keyof typeof UNAUTHORIZED_TEXT) {
  const nonce = newNonce()
  return htmlResponse(
    c,
    401,
    nonce,
    MessagePage({
      title: 'Viewer credential needed',
      nonce,
      children: html`<p>${UNAUTHORIZED_TEXT[why]}</p>
        <p>Open the dashboard link that ends in <code>/?key=…</code>: <code>npm start</code> prints one
          for local runs; for a deployed broker, the operator creates the credential (see the README,
          “Dashboard access”). The JSON API at <code>/v1/status</code> takes a broker key or an OIDC
          token instead.</p>`,
    }),
  )
}

function sameSiteBounce(c: Context<Env>) {
  const nonce = newNonce()
  return htmlResponse(
    c,
    200,
    nonce,
    html`<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=./">
      <title>Opening the dashboard</title></head>
      <body><p><a href="./">Continue to the dashboard</a></p></body></html>`,
  )
}
