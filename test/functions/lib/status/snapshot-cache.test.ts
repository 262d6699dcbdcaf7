import { describe, expect, it } from 'vitest'
import { createSnapshotCache } from '../../../../functions/lib/status/snapshot-cache.js'

describe('createSnapshotCache', () => {
  it('loads a key once, shares in-flight loads, and evicts the least recently used', async () => {
    const cache = createSnapshotCache<string>(2)
    let loads = 0
    const load = (v: string) => async () => {
      loads++
      return v
    }
    const [a1, a2] = await Promise.all([cache.get('a', load('A')), cache.get('a', load('A'))])
    expect([a1, a2, loads]).toEqual(['A', 'A', 1])
    await cache.get('b', load('B'))
    await cache.get('a', load('A')) // a is now most recent
    await cache.get('c', load('C')) // evicts b
    expect(loads).toBe(3)
    await cache.get('a', load('A'))
    expect(loads).toBe(3)
    await cache.get('b', load('B'))
    expect(loads).toBe(4)
  })

  it('does not keep failures', async () => {
    const cache = createSnapshotCache<string>()
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    await expect(cache.get('k', async () => 'ok')).resolves.toBe('ok')
  })
})
