import { describe, expect, it } from 'vitest'
import { RateLimitedError } from '../../../../functions/lib/errors.js'
import { createTokenBucketLimiter, enforceRateLimit } from '../../../../functions/lib/http/rate-limit.js'

describe('createTokenBucketLimiter', () => {
  it('allows a burst, then refills at the sustained rate, per key', () => {
    let t = 0
    const limiter = createTokenBucketLimiter({ capacity: 3, refillPerMinute: 30, clock: () => new Date(t) })
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true])
    const denied = limiter.take('a')
    expect(denied.allowed).toBe(false)
    // 30/min = one token per 2 s.
    expect(denied.retryAfterSeconds).toBe(2)
    expect(limiter.take('b').allowed).toBe(true)
    t += 2000
    expect(limiter.take('a').allowed).toBe(true)
    expect(limiter.take('a').allowed).toBe(false)
    t += 60_000
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false])
  })

  it('forgets the least recently used keys beyond maxKeys', () => {
    const limiter = createTokenBucketLimiter({ capacity: 1, refillPerMinute: 1, maxKeys: 2, clock: () => new Date(0) })
    limiter.take('a')
    limiter.take('b')
    limiter.take('c') // evicts a
    expect(limiter.take('a').allowed).toBe(true)
    expect(limiter.take('c').allowed).toBe(false)
  })

  it('enforceRateLimit throws RateLimitedError with retryAfterSeconds', () => {
    const limiter = createTokenBucketLimiter({ capacity: 1, refillPerMinute: 6, clock: () => new Date(0) })
    enforceRateLimit(limiter, 'k')
    const err = (() => {
      try {
        enforceRateLimit(limiter, 'k')
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(RateLimitedError)
    expect((err as RateLimitedError).retryAfterSeconds).toBe(10)
  })
})
