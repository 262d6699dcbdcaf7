import { describe, expect, it } from 'vitest'
import { createCachedSecret, staticSecret } from '../../../../functions/lib/secrets/source.js'

function manualClock(start = 1_700_000_000_000) {
  let t = start
  return { clock: () => new Date(t), advance: (ms: number) => (t += ms) }
}

describe('createCachedSecret', () => {
  it('shares one fetch among concurrent callers and serves the cache until the TTL', async () => {
    const { clock, advance } = manualClock()
    let calls = 0
    let release!: (v: string) => void
    const source = createCachedSecret(
      () => {
        calls++
        return new Promise<string>((r) => (release = r))
      },
      { ttlMs: 1000, clock },
    )
    const pending = Promise.all(Array.from({ length: 20 }, () => source.get()))
    release('v1')
    expect(await pending).toEqual(Array(20).fill('v1'))
    expect(calls).toBe(1)

    advance(999)
    expect(await source.get()).toBe('v1')
    expect(calls).toBe(1)

    advance(1)
    const next = source.get()
    release('v2')
    expect(await next).toBe('v2')
    expect(calls).toBe(2)
  })

  it('does not cache failures: the next call fetches again', async () => {
    let calls = 0
    const source = createCachedSecret(async () => {
      calls++
      if (calls === 1) throw new Error('boom')
      return 'ok'
    })
    await expect(source.get()).rejects.toThrow('boom')
    expect(await source.get()).toBe('ok')
    expect(calls).toBe(2)
  })

  it('invalidate() forces a refetch and ignores a fetch started before it', async () => {
    const values = ['old', 'new']
    const resolvers: Array<(v: string) => void> = []
    const source = createCachedSecret(() => new Promise<string>((r) => resolvers.push(r)))
    const first = source.get()
    source.invalidate()
    const second = source.get()
    expect(resolvers).toHaveLength(2)
    resolvers[0]!(values[0]!)
    resolvers[1]!(values[1]!)
    expect(await first).toBe('old')
    expect(await second).toBe('new')
    // The cache holds the post-invalidation value, not the stale one.
    expect(await source.get()).toBe('new')
    expect(resolvers).toHaveLength(2)
  })

  it('staticSecret returns its value', async () => {
    const s = staticSecret('local-value')
    s.invalidate()
    expect(await s.get()).toBe('local-value')
  })
})
