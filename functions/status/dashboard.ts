/**
 * The dashboard route (`GET /`): the viewer's login (`?key=` exchanged for a
 * session cookie), the page, the fragment its refresh script fetches
 * (`?fragment=1`, the same route, so no extra API Gateway route is needed and
 * a stage prefix survives), and the HTML form of its errors. Every page
 * carries a per-response CSP nonce; the reads are the status service's.
 */
import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { randomBytes } from 'node:crypto'
import type { Logger } from '../lib/observability/logger.js'
import { AppError, RateLimitedError } from '../lib/errors.js'
import type { StatusService } from '../lib/status/service.js'
import type { StatusProblem, StatusReport } from '../lib/status/types.js'
import { VIEWER_COOKIE, type ViewerAccess } from '../lib/status/viewer-access.js'
import { MessagePage, StatusFragment, StatusPage } from './views/page.js'

export interface Dashboard {
  service: StatusService
  /** Checks the viewer credential and sessions; without it the page is closed. */
  viewer?: ViewerAccess | undefined
  logger: Logger
  clock: () => Date
  /** How often the page refreshes itself. */
  refreshSeconds: number
  /** Commit links: a URL with `{repo}` and `{sha}`; without it commit ids are plain text. */
  commitUrlTemplate?: string | undefined
  imagePointer: string
}

export async function serveDashboard(c: Context, d: Dashboard): Promise<Response> {
  if (c.req.query('fragment') !== undefined) return serveFragment(c, d)
  const key = c.req.query('key')
  if (key !== undefined) {
    if (!d.viewer || !(await d.viewer.checkCredential(key))) return unauthorizedPage(c, d.viewer ? 'bad-key' : 'closed')
    setCookie(c, VIEWER_COOKIE, await d.viewer.issueSession(d.clock()), {
      httpOnly: true,
      secure: !isLocalHttp(c.req.url),
      sameSite: 'Strict',
      path: '/',
      maxAge: d.viewer.sessionTtlSeconds,
    })
    c.header('cache-control', 'no-store')
    c.header('referrer-policy', 'no-referrer')
    // Relative, so a stage prefix (/prod/) survives; 303 drops the credential from history.
    return c.redirect('./', 303)
  }
  if (!(await hasSession(c, d))) {
    // A SameSite=Strict cookie is not sent on a navigation from another site (a chat
    // link): bounce once through a same-origin navigation, which carries it.
    if (d.viewer && c.req.header('sec-fetch-site') === 'cross-site') return sameSiteBounce(c)
    return unauthorizedPage(c, d.viewer ? 'no-session' : 'closed')
  }

  const now = d.clock()
  const nonce = newNonce()
  let report: StatusReport | undefined
  let failure: StatusProblem | undefined
  let etag: string | undefined
  let status = 200
  try {
    const read = await d.service.dashboard()
    if (!read.notModified) ({ etag, report } = read)
  } catch (err) {
    // The page still renders and says what is wrong.
    ;({ failure, status } = describeFailure(err))
    d.logger.warn('status page read failed', { requestId: c.get('requestId'), error: err })
  }
  const view = { repo: d.service.repo, now, commitUrlTemplate: d.commitUrlTemplate, imagePointer: d.imagePointer }
  return htmlResponse(c, status, nonce, StatusPage({ ...view, report, failure, nonce, etag, refreshSeconds: d.refreshSeconds }))
}

async function serveFragment(c: Context, d: Dashboard): Promise<Response> {
  if (!(await hasSession(c, d))) return c.text('dashboard session required', 401, { 'cache-control': 'no-store' })
  const read = await d.service.dashboard(c.req.header('if-none-match'))
  const headers = { etag: read.etag, 'cache-control': 'private, no-cache', vary: 'Cookie' }
  if (read.notModified) return c.body(null, 304, headers)
  const view = { repo: d.service.repo, report: read.report, now: d.clock(), commitUrlTemplate: d.commitUrlTemplate, imagePointer: d.imagePointer }
  return c.html(String(StatusFragment(view)), 200, headers)
}

async function hasSession(c: Context, d: Dashboard): Promise<boolean> {
  if (!d.viewer) return false
  return d.viewer.checkSession(getCookie(c, VIEWER_COOKIE), d.clock())
}

/** An error on the dashboard route: plain text for the refresh script, a page for a person. */
export function dashboardErrorPage(c: Context, err: unknown): Response {
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

/** Rendered to a string here, so error pages can be answered synchronously like every other error. */
function htmlResponse(c: Context, status: number, nonce: string, body: unknown): Response {
  c.header(
    'content-security-policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; ` +
      "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  c.header('x-content-type-options', 'nosniff')
  c.header('referrer-policy', 'no-referrer')
  c.header('cache-control', 'no-store')
  return c.html(String(html`<!doctype html>${body}`), status as 200)
}

const UNAUTHORIZED_TEXT = {
  'bad-key': 'That viewer credential is not valid (mistyped, or rotated since the link was shared).',
  'no-session': 'This dashboard needs a viewer credential, and this browser has no session (or it expired).',
  closed: 'This deployment has no viewer credential configured, so the dashboard is closed.',
} as const

function unauthorizedPage(c: Context, why: keyof typeof UNAUTHORIZED_TEXT) {
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

function sameSiteBounce(c: Context) {
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
