/**
 * Rate limits. Two kinds, both token buckets behind one async interface so a
 * shared store (DynamoDB, the lead's limiter) can back them on Lambda:
 *
 * - per caller, after authentication, keyed by `rateLimitKey(identity)`: the
 *   stable identity (issuer + repository or project id, or the broker key),
 *   never anything that changes per run, attempt, job or environment;
 * - per source IP, before authentication (the edge's `sourceIpLimit`,
 *   lib/edge/source-ip.ts), on every route but /healthz, so unauthenticated
 *   floods (forged tokens, bad keys) are bounded too.
 *
 * In process, a Lambda container serves one request at a time, so an
 * in-memory bucket only bounds one container's share; API Gateway throttling
 * bounds the total.
 */
import type { CallerIdentity } from '../auth/types.js'
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'
import { RateLimitedError } from '../errors.js'

export interface RateLimitResult {
  allowed: boolean
  /** Seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number
}

export interface RateLimiter {
  /** Takes one request from `key`'s budget. Rejects only if the store cannot answer. */
  take(key: string): Promise<RateLimitResult>
}

export interface TokenBucketOptions {
  /** Burst size. Default 10. */
  capacity?: number
  /** Sustained rate. Default 30 per minute. */
  refillPerMinute?: number
  /** Bound on remembered keys; the oldest idle ones are dropped first. Default 10 000. */
  maxKeys?: number
  clock?: () => Date
}

interface Bucket {
  tokens: number
  at: number
}

/** Classic token bucket per key, refilled continuously, in process. */
export function createTokenBucketLimiter(options: TokenBucketOptions = {}): RateLimiter {
  const capacity = options.capacity ?? 10
  const perMs = (options.refillPerMinute ?? 30) / 60_000
  const maxKeys = options.maxKeys ?? 10_000
  const now = () => (options.clock ? options.clock().getTime() : Date.now())
  // Buckets never expire; the least recently used ones make room.
  const buckets = new BoundedTtlCache<string, Bucket>({ maxEntries: maxKeys, touchOnGet: true })

  return {
    async take(key) {
      const t = now()
      let b = buckets.get(key)
      if (b) {
        b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs)
        b.at = t
      } else {
        b = { tokens: capacity, at: t }
        buckets.set(key, b)
      }
      if (b.tokens >= 1) {
        b.tokens -= 1
        return { allowed: true, retryAfterSeconds: 0 }
      }
      const wait = perMs > 0 ? (1 - b.tokens) / perMs / 1000 : 60
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait)) }
    },
  }
}

/** A limiter that never limits (benchmarks, or when disabled by config). */
export const unlimited: RateLimiter = { take: async () => ({ allowed: true, retryAfterSeconds: 0 }) }

/** Takes one token for `key` or throws RateLimitedError (429 with Retry-After). */
export async function enforceRateLimit(limiter: RateLimiter, key: string, what = 'requests'): Promise<void> {
  const r = await limiter.take(key)
  if (!r.allowed) {
    throw new RateLimitedError(`Too many ${what} from this identity; retry in ${r.retryAfterSeconds} s.`, r.retryAfterSeconds)
  }
}

/**
 * The per-caller rate-limit key: who the caller stably is. OIDC callers are
 * keyed by issuer and the preset's stable id (GitHub repository_id, GitLab
 * project_id, CircleCI project-id, Buildkite org/pipeline), so a new run,
 * attempt, job or environment shares the budget; broker keys by the key's
 * hash id. Never the credential itself.
 */
export function rateLimitKey(identity: CallerIdentity): string {
  if (identity.kind === 'broker-key') return `key:${identity.credentialId}`
  return `oidc:${identity.issuer ?? ''}:${identity.stableId ?? identity.subject}`
}

/** Defaults for the per-IP limit: generous for a CI fleet behind one NAT, tight for a flood. */
export const SOURCE_IP_LIMIT = { capacity: 120, refillPerMinute: 600 } as const

/** The per-IP check as a pending answer (undefined without an address), for any framework. */
export function beginSourceIpCheck(limiter: () => RateLimiter, ip: string | undefined): Promise<void> | undefined {
  if (ip === undefined) return undefined
  const check = limiter()
    .take(`ip:${ip}`)
    .then((r) => {
      if (!r.allowed) throw new RateLimitedError(`Too many requests from this address; retry in ${r.retryAfterSeconds} s.`, r.retryAfterSeconds)
    })
  // Awaited by the route; never an unhandled rejection if the route fails first.
  check.catch(() => undefined)
  return check
}
