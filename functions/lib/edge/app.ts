/**
 * The edge kit: what every HTTP function (token, deploy, status) does the
 * same way before and after its routes, so the three cannot drift apart.
 *
 * - a request id on every response and audit line (API Gateway's own id when
 *   there is one, so our lines join its access log);
 * - dependencies built on the first request that needs them, so a missing
 *   environment variable is a 500 problem naming it rather than an INIT crash,
 *   and `/healthz` never touches a secret;
 * - problem+json for errors, 404 for unknown paths and 405 with `Allow` for
 *   known paths with another method (fallbacks.ts).
 *
 * A function's app file then reads as its route table.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { installRouteFallbacks, type ErrorRenderer } from './fallbacks.js'
import { problemResponse } from './problem.js'
import { sourceIpOf, type SourceAddressBindings } from './source-ip.js'
import type { CallContext } from '../audit/audited.js'
export { lazily, lazyDeps } from '../lazy.js'

/** What the Lambda adapter (hono/aws-lambda) or the local node adapter binds. */
export interface EdgeBindings extends SourceAddressBindings {
  event?: { requestContext?: { requestId?: string; http?: { sourceIp?: string } } }
}

export type EdgeEnv<D, V extends object = object> = {
  Bindings: EdgeBindings
  Variables: { requestId: string; deps: D } & V
}

export interface FunctionAppOptions<D, V extends object> {
  /** Builds (or returns) the dependencies; see `lazily`. Called per request on `depsOn` paths. */
  deps: () => D
  /** Path patterns whose routes read `c.var.deps`; nothing else builds them. */
  depsOn: readonly string[]
  /** How errors render. Default: problem+json with the request id. */
  renderError?: ErrorRenderer<EdgeEnv<D, V>>
  /** Makes request ids where API Gateway gave none (tests pass a counter). Default: random UUID. */
  newRequestId?: () => string
  /** Runs around everything but the request id, so it sees the response sent, 404/405 included (a request log). */
  around?: MiddlewareHandler<EdgeEnv<D, V>>
}

export function createFunctionApp<D, V extends object = object>(options: FunctionAppOptions<D, V>): Hono<EdgeEnv<D, V>> {
  type E = EdgeEnv<D, V>
  const app = new Hono<E>()
  const render: ErrorRenderer<E> = options.renderError ?? ((c, err) => problemResponse(c, err, c.get('requestId')))
  app.use(requestIds<E>(options.newRequestId ?? (() => crypto.randomUUID())))
  if (options.around) app.use(options.around)
  installRouteFallbacks(app, render)
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  const withDeps: MiddlewareHandler<E> = async (c, next) => {
    // Hono cannot narrow a generic Variables map; the key and type are fixed by EdgeEnv.
    ;(c as unknown as Context<{ Variables: { deps: D } }>).set('deps', options.deps())
    await next()
  }
  for (const path of options.depsOn) app.use(path, withDeps)
  app.onError((err, c) => render(c, err))
  return app
}

/**
 * Hono's request-id middleware would adopt an incoming X-Request-Id, letting
 * a caller choose the id its audit lines carry; ours never reads it.
 */
function requestIds<E extends EdgeEnv<unknown>>(generate: () => string): MiddlewareHandler<E> {
  return async (c, next) => {
    const id = c.env?.event?.requestContext?.requestId ?? generate()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  }
}

/** The request as the transport-neutral services see it. */
export function callOf(c: { env: EdgeBindings | undefined; get(key: 'requestId'): string }): CallContext {
  const sourceIp = sourceIpOf(c.env)
  return { requestId: c.get('requestId'), ...(sourceIp ? { sourceIp } : {}) }
}
