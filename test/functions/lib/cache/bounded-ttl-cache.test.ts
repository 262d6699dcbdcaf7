import { describe, expect, it } from 'vitest'
import { BoundedTtlCache } from '../../../../functions/lib/cache/bounded-ttl-cache.js'

function clock(start = 1_000) {
  const c = { t: start, now: () => c.t }
  return c
}

const keys = (cache: BoundedTtlCache<string, unknown>, all: string[]) => all.filter((k) => cache.has(k))

describe('BoundedTtlCache', () => {
  it('holds at most maxEntries, dropping the least recently set first', () => {
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 2 })
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.get('a')).toBe(1) // a hit does not count as use by default
    cache.set('c', 3)
    expect(keys(cache, ['a', 'b', 'c'])).toEqual(['b', 'c'])
    expect(cache.size).toBe(2)
  })

  it('setting a key again makes it the newest', () => {
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 2 })
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('a', 10)
    cache.set('c', 3)
    expect(keys(cache, ['a', 'b', 'c'])).toEqual(['a', 'c'])
    expect(cache.get('a')).toBe(10)
  })

  it('with touchOnGet, a hit counts as use (LRU)', () => {
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 2, touchOnGet: true })
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.get('a')).toBe(1)
    cache.set('c', 3)
    expect(keys(cache, ['a', 'b', 'c'])).toEqual(['a', 'c'])
    // A miss is no use of anything.
    expect(cache.get('b')).toBeUndefined()
    cache.set('d', 4)
    expect(keys(cache, ['a', 'c', 'd'])).toEqual(['c', 'd'])
  })

  it('expires an entry ttlMs after it was set: live before, gone at that instant', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, string>({ maxEntries: 10, ttlMs: 100, now: c.now })
    cache.set('k', 'v')
    c.t += 99
    expect(cache.get('k')).toBe('v')
    c.t += 1
    expect(cache.get('k')).toBeUndefined()
    expect(cache.has('k')).toBe(false)
    expect(cache.size).toBe(0)
  })

  it('a hit does not extend the lifetime; setting again does', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, string>({ maxEntries: 10, ttlMs: 100, now: c.now, touchOnGet: true })
    cache.set('a', '1')
    cache.set('b', '1')
    c.t += 60
    expect(cache.get('a')).toBe('1')
    cache.set('b', '2')
    c.t += 60
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('b')).toBe('2')
  })

  it('takes an expiry time per entry, which wins over ttlMs', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 10, ttlMs: 1_000, now: c.now })
    cache.set('short', 1, c.t + 10)
    cache.set('default', 2)
    cache.set('forever', 3, Number.POSITIVE_INFINITY)
    c.t += 10
    expect(keys(cache, ['short', 'default', 'forever'])).toEqual(['default', 'forever'])
    c.t += 990
    expect(keys(cache, ['short', 'default', 'forever'])).toEqual(['forever'])
    c.t += 1e12
    expect(cache.get('forever')).toBe(3)
  })

  it('without ttlMs, entries never expire', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 1, now: c.now })
    cache.set('a', 1)
    c.t += 1e12
    expect(cache.get('a')).toBe(1)
  })

  it('makes room by dropping expired entries before live ones, even newer expired ones', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 3, now: c.now })
    cache.set('old-live', 1, c.t + 1_000)
    cache.set('expiring-1', 2, c.t + 10)
    cache.set('expiring-2', 3, c.t + 10)
    c.t += 10
    cache.set('new', 4, c.t + 1_000)
    // Both expired entries went; the oldest entry, still live, stayed.
    expect(cache.size).toBe(2)
    expect(keys(cache, ['old-live', 'expiring-1', 'expiring-2', 'new'])).toEqual(['old-live', 'new'])
  })

  it('evicts live entries when none has expired, and expired ones later still go first', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 2, now: c.now })
    cache.set('a', 1, c.t + 50)
    cache.set('b', 2, c.t + 500)
    cache.set('c', 3, c.t + 5) // nothing expired yet: the oldest (a) goes
    expect(keys(cache, ['a', 'b', 'c'])).toEqual(['b', 'c'])
    c.t += 5
    cache.set('d', 4, c.t + 500) // c has expired: it goes, not b
    expect(keys(cache, ['b', 'c', 'd'])).toEqual(['b', 'd'])
  })

  it('pruneExpired drops every expired entry; size counts expired ones until then', () => {
    const c = clock()
    const cache = new BoundedTtlCache<string, number>({ maxEntries: 10, ttlMs: 10, now: c.now })
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('c', 3, c.t + 100)
    c.t += 10
    expect(cache.size).toBe(3)
    cache.pruneExpired()
    expect(cache.size).toBe(1)
    expect(cache.get('c')).toBe(3)
  })

  it('delete, deleteIf and clear', () => {
    const cache = new BoundedTtlCache<string, object>({ maxEntries: 10 })
    const first = {}
    const second = {}
    cache.set('k', first)
    cache.set('k', second)
    cache.deleteIf('k', first)
    expect(cache.get('k')).toBe(second)
    cache.deleteIf('k', second)
    expect(cache.has('k')).toBe(false)
    cache.set('x', first)
    cache.delete('x')
    expect(cache.size).toBe(0)
    cache.set('y', first)
    cache.clear()
    expect(cache.size).toBe(0)
  })

  it('setPending forgets a rejected promise, but not the one that replaced it', async () => {
    const cache = new BoundedTtlCache<string, Promise<number>>({ maxEntries: 10 })
    let fail!: (e: Error) => void
    const failing = cache.setPending('k', new Promise<number>((_, reject) => (fail = reject)))
    expect(cache.get('k')).toBe(failing)
    fail(new Error('down'))
    await expect(failing).rejects.toThrow('down')
    expect(cache.has('k')).toBe(false)

    let failOld!: (e: Error) => void
    const old = cache.setPending('k', new Promise<number>((_, reject) => (failOld = reject)))
    const replacement = cache.setPending('k', Promise.resolve(2))
    failOld(new Error('late'))
    await expect(old).rejects.toThrow('late')
    expect(cache.get('k')).toBe(replacement)
    expect(await cache.get('k')).toBe(2)
  })

  it('refuses a bound below one entry', () => {
    expect(() => new BoundedTtlCache({ maxEntries: 0 })).toThrow(RangeError)
  })
})
