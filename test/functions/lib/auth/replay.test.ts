import { describe, expect, it } from 'vitest'
import { MemoryReplayStore, replayKey } from '../../../../functions/lib/auth/replay.js'

describe('MemoryReplayStore', () => {
  it('claims a key once until it expires', async () => {
    let now = new Date('2030-01-01T00:00:00Z')
    const store = new MemoryReplayStore({ clock: () => now })
    const until = new Date(now.getTime() + 60_000)
    expect(await store.claim('a', until)).toBe(true)
    expect(await store.claim('a', until)).toBe(false)
    expect(await store.claim('b', until)).toBe(true)
    now = new Date(until.getTime() + 1)
    expect(await store.claim('a', new Date(now.getTime() + 60_000))).toBe(true)
  })

  it('release lets a token be retried', async () => {
    const store = new MemoryReplayStore()
    const until = new Date(Date.now() + 60_000)
    await store.claim('k', until)
    await store.release('k')
    expect(await store.claim('k', until)).toBe(true)
  })

  it('stays bounded: evicts expired keys, and fails closed rather than forget a live one', async () => {
    let now = new Date('2030-01-01T00:00:00Z')
    const store = new MemoryReplayStore({ maxEntries: 3, clock: () => now })
    const soon = new Date(now.getTime() + 1000)
    for (const k of ['a', 'b', 'c']) expect(await store.claim(k, soon)).toBe(true)
    await expect(store.claim('d', soon)).rejects.toMatchObject({ code: 'REPLAY_STORE_UNAVAILABLE', status: 503 })
    expect(await store.claim('a', soon)).toBe(false) // still remembered
    now = new Date(soon.getTime() + 1)
    expect(await store.claim('d', new Date(now.getTime() + 1000))).toBe(true)
    expect(store.size).toBe(1)
  })
})

describe('replayKey', () => {
  const sig = (...bytes: number[]) => new Uint8Array(bytes)
  it('depends on issuer and jti, or on issuer, sub, iat and the signature bytes when there is no jti', () => {
    const a = 'https://a'
    expect(replayKey({ issuer: a, claims: { jti: 'j' }, signature: sig(1) })).toBe(
      replayKey({ issuer: a, claims: { jti: 'j', sub: 'other' }, signature: sig(2) }),
    )
    expect(replayKey({ issuer: a, claims: { jti: 'j' }, signature: sig(1) })).not.toBe(
      replayKey({ issuer: 'https://b', claims: { jti: 'j' }, signature: sig(1) }),
    )
    const base = { issuer: a, claims: { sub: 's', iat: 1 }, signature: sig(1, 2) }
    expect(replayKey(base)).toBe(replayKey({ ...base, signature: sig(1, 2) }))
    expect(replayKey(base)).not.toBe(replayKey({ ...base, signature: sig(1, 3) }))
    expect(replayKey(base)).not.toBe(replayKey({ ...base, claims: { sub: 's', iat: 2 } }))
    expect(replayKey(base)).not.toBe(replayKey({ ...base, claims: { sub: 't', iat: 1 } }))
    expect(replayKey(base)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('cannot be forged by moving text between fields (length-prefixed)', () => {
    const one = replayKey({ issuer: 'https://a', claims: { sub: 'x\n1', iat: 2 }, signature: sig() })
    const two = replayKey({ issuer: 'https://a', claims: { sub: 'x', iat: '1\n2' }, signature: sig() })
    expect(one).not.toBe(two)
  })
})
