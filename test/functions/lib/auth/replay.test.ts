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
  it('depends on issuer and jti, or on the token when there is no jti', () => {
    expect(replayKey('https://a', 'j', 't1')).toBe(replayKey('https://a', 'j', 't2'))
    expect(replayKey('https://a', 'j', 't')).not.toBe(replayKey('https://b', 'j', 't'))
    expect(replayKey('https://a', undefined, 't1')).not.toBe(replayKey('https://a', undefined, 't2'))
    expect(replayKey('https://a', undefined, 't1')).toMatch(/^[0-9a-f]{64}$/)
  })
})
