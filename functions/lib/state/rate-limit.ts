/**
 * Rate limits counted across every container: a fixed window per key, one
 * UpdateItem per request (`ADD n 1` on the window's item, allowed while the
 * count is below the limit). A fixed window lets a caller spend up to twice
 * the limit across a window boundary; that is the price of a single round
 * trip, and API Gateway's throttling still bounds the total.
 */
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'
import type { RateLimiter } from '../limits/rate-limiter.js'
import { ConditionFailed, N, S } from './dynamodb.js'
import { PK, PREFIX, type StateTable, TTL, epochSeconds, hashKey } from './table.js'

export interface SharedRateLimitOptions {
  /** Requests allowed per window and key. */
  limit: number
  /** Window length. Default 60 s. */
  windowSeconds?: number
  /** pk prefix: `PREFIX.rate` for identities (default), `PREFIX.ip` for source addresses. */
  prefix?: typeof PREFIX.rate | typeof PREFIX.ip
  /** Separates limits that share keys (e.g. `token`, `deploy`, `status`). */
  scope: string
}

/** Per identity (or source address) and minute, counted across every container. */
export const RATE_LIMITS = {
  token: { scope: 'token', limit: 30 },
  deploy: { scope: 'deploy', limit: 300 },
  status: { scope: 'status', limit: 120 },
  /** Before authentication, per source address, on every route: generous for a CI fleet behind one NAT. */
  sourceIp: { scope: 'any', limit: 600, prefix: PREFIX.ip },
} as const satisfies Record<string, SharedRateLimitOptions>

/**
 * Remembers, in this container, which keys are over their limit until their
 * window ends, and answers those without asking the table: a flood from one
 * address costs the table one call per container and window, not one per
 * request.
 */
export function withLocalDenials(limiter: RateLimiter, clock: () => Date = () => new Date(), maxKeys = 10_000): RateLimiter {
  // Each denial lives until its window ends; past `maxKeys`, ended ones and then the oldest make room.
  const deniedUntil = new BoundedTtlCache<string, number>({ maxEntries: maxKeys, now: () => clock().getTime() })
  return {
    async take(key) {
      const until = deniedUntil.get(key)
      const now = clock().getTime()
      if (until !== undefined) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) }
      const r = await limiter.take(key)
      if (!r.allowed) {
        const end = now + r.retryAfterSeconds * 1000
        deniedUntil.set(key, end, end)
      }
      return r
    },
  }
}

export function createSharedRateLimiter(table: StateTable, options: SharedRateLimitOptions): RateLimiter {
  const windowMs = (options.windowSeconds ?? 60) * 1000
  const prefix = options.prefix ?? PREFIX.rate
  return {
    async take(key) {
      const now = table.clock().getTime()
      const start = Math.floor(now / windowMs) * windowMs
      const end = start + windowMs
      try {
        await table.db.call('UpdateItem', {
          TableName: table.name,
          Key: { [PK]: S(`${prefix}${options.scope}#${hashKey(key, String(start))}`) },
          UpdateExpression: 'ADD #n :one SET #ttl = :exp',
          ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
          ExpressionAttributeNames: { '#n': 'n', '#ttl': TTL },
          ExpressionAttributeValues: { ':one': N(1), ':limit': N(options.limit), ':exp': N(epochSeconds(end) + 60) },
        })
        return { allowed: true, retryAfterSeconds: 0 }
      } catch (err) {
        if (err instanceof ConditionFailed) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((end - now) / 1000)) }
        throw err
      }
    },
  }
}
