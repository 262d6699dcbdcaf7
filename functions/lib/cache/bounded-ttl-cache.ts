/**
 * The one in-process cache of the functions: a Map with a bound on entries
 * and an optional expiry per entry. A Lambda container lives for hours and
 * serves many callers, so every per-container memory (clients per token,
 * reports per head, token ownership, rate-limit buckets, replay claims, ...)
 * must be bounded; the bound and the expiry rules live here once.
 *
 * - Expiry: an entry whose expiry time is at or before now is gone; `get`
 *   and `has` miss it (and drop it). Entries set without an expiry (and with
 *   no `ttlMs`) only leave to make room.
 * - Room: when a `set` takes the cache over `maxEntries`, expired entries are
 *   dropped first, then the least recently used ones. `set` always counts as
 *   use; `get` counts only with `touchOnGet` (LRU); without it, entries leave
 *   in the order they were last set.
 *
 * Callers that must never lose a live entry (the replay store) check `size`
 * before setting and refuse instead; the cache itself always makes room.
 */
export interface BoundedTtlCacheOptions {
  /** Most entries held. */
  maxEntries: number
  /** Lifetime of an entry set without its own expiry time. Default: none. */
  ttlMs?: number
  /** Whether a hit counts as use for eviction (LRU). Default false: eviction in the order entries were set. */
  touchOnGet?: boolean
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

interface Entry<V> {
  value: V
  expiresAt: number
}

export class BoundedTtlCache<K, V> {
  // A Map iterates in insertion order, so re-inserting an entry makes it the newest.
  private readonly entries = new Map<K, Entry<V>>()
  private readonly maxEntries: number
  private readonly ttlMs: number
  private readonly touchOnGet: boolean
  private readonly now: () => number
  // No entry expires before this (a lower bound), so making room skips the scan while nothing has expired.
  private earliestExpiry = Number.POSITIVE_INFINITY

  constructor(options: BoundedTtlCacheOptions) {
    if (!(options.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1')
    this.maxEntries = options.maxEntries
    this.ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY
    this.touchOnGet = options.touchOnGet ?? false
    this.now = options.now ?? Date.now
  }

  /** Entries held, expired ones included until something drops them. */
  get size(): number {
    return this.entries.size
  }

  /** The live value under `key`, or undefined. */
  get(key: K): V | undefined {
    const e = this.live(key)
    if (!e) return undefined
    if (this.touchOnGet) {
      this.entries.delete(key)
      this.entries.set(key, e)
    }
    return e.value
  }

  has(key: K): boolean {
    return this.live(key) !== undefined
  }

  /**
   * Stores `value` as the most recently used entry, until `expiresAt` (ms since
   * the epoch; default now + `ttlMs`), and makes room if the cache is over its bound.
   */
  set(key: K, value: V, expiresAt: number = this.now() + this.ttlMs): void {
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt })
    if (expiresAt < this.earliestExpiry) this.earliestExpiry = expiresAt
    if (this.entries.size <= this.maxEntries) return
    if (this.earliestExpiry <= this.now()) this.pruneExpired()
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break
      this.entries.delete(oldest)
    }
  }

  /**
   * Stores a pending value that is dropped again if it rejects, so a failure
   * is never served from the cache. Returns `pending`.
   */
  setPending<T>(this: BoundedTtlCache<K, Promise<T>>, key: K, pending: Promise<T>, expiresAt?: number): Promise<T> {
    this.set(key, pending, expiresAt)
    pending.catch(() => this.deleteIf(key, pending))
    return pending
  }

  delete(key: K): void {
    this.entries.delete(key)
  }

  /** Deletes `key` only while it still holds `value`: a late failure must not drop the entry that replaced it. */
  deleteIf(key: K, value: V): void {
    if (this.entries.get(key)?.value === value) this.entries.delete(key)
  }

  /** Drops every expired entry. */
  pruneExpired(): void {
    const now = this.now()
    let earliest = Number.POSITIVE_INFINITY
    for (const [key, e] of this.entries) {
      if (e.expiresAt <= now) this.entries.delete(key)
      else if (e.expiresAt < earliest) earliest = e.expiresAt
    }
    this.earliestExpiry = earliest
  }

  clear(): void {
    this.entries.clear()
    this.earliestExpiry = Number.POSITIVE_INFINITY
  }

  private live(key: K): Entry<V> | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }
}
