import { describe, expect, it } from 'vitest'
import { RateLimitedError } from '../../../../functions/lib/errors.js'
import { createTokenBucketLimiter, enforceRateLimit, rateLimitKey } from '../../../../functions/lib/limits/rate-limiter.js'
import { keyIdentity, oidcIdentity } from '../policy/support.js'

describe('createTokenBucketLimiter', () => {
  it('allows a burst, then refills at the sustained rate, per key', async () => {
    let t = 0
    const limiter = createTokenBucketLimiter({ capacity: 3, refillPerMinute: 30, clock: () => new Date(t) })
    const takeAll = async (n: number) => {
      const out: boolean[] = []
      for (let i = 0; i < n; i++) out.push((await limiter.take('a')).allowed)
      return out
    }
    expect(await takeAll(3)).toEqual([true, true, true])
    const denied = await limiter.take('a')
    expect(denied.allowed).toBe(false)
    // 30/min = one token per 2 s.
    expect(denied.retryAfterSeconds).toBe(2)
    expect((await limiter.take('b')).allowed).toBe(true)
    t += 2000
    expect((await limiter.take('a')).allowed).toBe(true)
    expect((await limiter.take('a')).allowed).toBe(false)
    t += 60_000
    expect(await takeAll(4)).toEqual([true, true, true, false])
  })

  it('forgets the least recently used keys beyond maxKeys', async () => {
    const limiter = createTokenBucketLimiter({ capacity: 1, refillPerMinute: 1, maxKeys: 2, clock: () => new Date(0) })
    await limiter.take('a')
    await limiter.take('b')
    await limiter.take('c') // evicts a
    expect((await limiter.take('a')).allowed).toBe(true)
    expect((await limiter.take('c')).allowed).toBe(false)
  })

  it('enforceRateLimit throws RateLimitedError with retryAfterSeconds', async () => {
    const limiter = createTokenBucketLimiter({ capacity: 1, refillPerMinute: 6, clock: () => new Date(0) })
    await enforceRateLimit(limiter, 'k')
    const err = await enforceRateLimit(limiter, 'k').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RateLimitedError)
    expect((err as RateLimitedError).retryAfterSeconds).toBe(10)
  })
})

describe('rateLimitKey', () => {
  it('keys broker keys by their hash id and OIDC callers by issuer and stable id', () => {
    expect(rateLimitKey(keyIdentity('ci'))).toBe('key:k')
    const identity = { ...oidcIdentity('github'), stableId: 'repository_id:74' }
    expect(rateLimitKey(identity)).toBe('oidc:https://token.actions.githubusercontent.com:repository_id:74')
  })
})
