/**
 * The per-source-address limit at the edge: the address as API Gateway (or
 * the local server) reports it, checked before authentication so floods of
 * forged tokens or bad keys meet a limit too. The limiter itself is
 * lib/limits/rate-limiter.ts.
 */
import type { MiddlewareHandler } from 'hono'
import { RateLimitedError } from '../errors.js'
import { beginSourceIpCheck, type RateLimiter } from '../limits/rate-limiter.js'

/** Where a request came from: API Gateway's sourceIp, or the local server's peer address. */
export interface SourceAddressBindings {
  event?: { requestContext?: { http?: { sourceIp?: string } } }
  remoteAddress?: string
}

export function sourceIpOf(env: SourceAddressBindings | undefined): string | undefined {
  return env?.event?.requestContext?.http?.sourceIp ?? env?.remoteAddress
}

/**
 * Pre-authentication limit per source IP. Requests with no known source
 * address (in-process tests calling `app.request`) are not IP-limited; on
 * Lambda and under `npm start` every request has one.
 */
export function sourceIpLimit(limiter: () => RateLimiter): MiddlewareHandler<{ Bindings: SourceAddressBindings }> {
  return async (c, next) => {
    const ip = sourceIpOf(c.env)
    if (ip !== undefined) {
      const r = await limiter().take(`ip:${ip}`)
      if (!r.allowed) {
        throw new RateLimitedError(`Too many requests from this address; retry in ${r.retryAfterSeconds} s.`, r.retryAfterSeconds)
      }
    }
    await next()
  }
}

/**
 * The per-IP check started but not awaited: the token app sends it together
 * with the single-use claim and the identity's limit (one round trip to a
 * shared store instead of two), and awaits it before anything that counts.
 * The request context holds the pending answer; `ipChecked` rejects with the
 * 429 when the address is over its limit.
 */
export function startSourceIpCheck(limiter: () => RateLimiter): MiddlewareHandler<{ Bindings: SourceAddressBindings; Variables: { ipCheck?: Promise<void> } }> {
  return async (c, next) => {
    const check = beginSourceIpCheck(limiter, sourceIpOf(c.env))
    if (check) c.set('ipCheck', check)
    await next()
  }
}

/** Waits for the check `startSourceIpCheck` started (a no-op when none was). */
export async function ipChecked(c: { get(key: 'ipCheck'): Promise<void> | undefined }): Promise<void> {
  await c.get('ipCheck')
}
