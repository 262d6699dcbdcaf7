/**
 * What every function answers for a request no route of its serves: 404 for
 * a path it does not know, 405 with `Allow` for a known path with another
 * method, both as problem+json through the function's own error renderer (so
 * request ids and content negotiation stay the function's). One module so the
 * token, deploy and status apps cannot drift apart on this.
 */
import type { Context, Env, Hono } from 'hono'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { NotFoundAppError } from '../errors.js'
import { MethodNotAllowedError } from './errors.js'

export type ErrorRenderer<E extends Env> = (c: Context<E>, err: unknown) => Response

/**
 * Installs the 404 and 405 answers. Call before the routes are added: the 405
 * check is a middleware that looks at the finished 404 and at `app.routes`.
 */
export function installRouteFallbacks<E extends Env>(app: Hono<E>, render: ErrorRenderer<E>): void {
  app.use(
    methodNotAllowed<E>({
      app,
      onMethodNotAllowed: (c, allow) => {
        const res = render(c, new MethodNotAllowedError(c.req.method, allow))
        res.headers.set('allow', allow.join(', '))
        return res
      },
    }),
  )
  app.notFound((c) => render(c, new NotFoundAppError(`No route for ${c.req.method} ${c.req.path}.`)))
}
