/**
 * Per-key token buckets, in process. A Lambda container serves one request
 * at a time, so this bounds a single caller's burst per container; API
 * Gateway throttling bounds the total. The interface lets a shared store
 * (DynamoDB) back it later.
 */
import { RateLimitedError } from '../errors.js'

export interface RateLimitResult {
  allowed: boolean
  /** Seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number
}

export interface RateLimiter {
  /** Takes one request's worth for `key`. Rejects when the shared store cannot answer (callers fail closed). */
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

/** Classic token bucket per key, refilled continuously. */
export function createTokenBucketLimiter(options: TokenBucketOptions = {}): RateLimiter {
  const capacity = options.capacity ?? 10
  const perMs = (options.refillPerMinute ?? 30) / 60_000
  const maxKeys = options.maxKeys ?? 10_000
  const now = () => (options.clock ? options.clock().getTime() : Date.now())
  const buckets = new Map<string, Bucket>()

  return {
    async take(key) {
      const t = now()
      let b = buckets.get(key)
      if (b) {
        b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs)
        b.at = t
        // Re-insert so Map order stays least-recently-used first.
        buckets.delete(key)
      } else {
        b = { tokens: capacity, at: t }
        if (buckets.size >= maxKeys) {
          const oldest = buckets.keys().next().value
          if (oldest !== undefined) buckets.delete(oldest)
        }
      }
      buckets.set(key, b)
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
