/**
 * In-process memory of recent deploys: results by idempotency key / event id
 * (including ones still in flight, so two concurrent deliveries of one event
 * in the same process share one write), and the newest event time applied per
 * key (an ordering watermark that still works when the server's Log has no
 * full messages). Bounded and time-limited; a cold container starts empty,
 * which is why the Git history is the source of truth and this only a cache.
 */
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'

export interface RecentDeploysOptions {
  maxEntries?: number
  ttlMs?: number
  clock?: () => number
}

export class RecentDeploys<R = unknown> {
  private readonly results: BoundedTtlCache<string, Promise<R>>
  private readonly marks: BoundedTtlCache<string, number>

  constructor(options: RecentDeploysOptions = {}) {
    const cache = { maxEntries: options.maxEntries ?? 1000, ttlMs: options.ttlMs ?? 60 * 60 * 1000, now: options.clock ?? Date.now }
    this.results = new BoundedTtlCache(cache)
    this.marks = new BoundedTtlCache(cache)
  }

  /** The result (or in-flight promise) recorded under `key`, if fresh. */
  get(key: string): Promise<R> | undefined {
    return this.results.get(key)
  }

  /** Records a promise; a rejection removes it so that a failed attempt can be retried. */
  remember(key: string, result: Promise<R>): void {
    this.results.setPending(key, result)
  }

  /** Newest event time (ms) applied for a key in this process. */
  mark(key: string): number | undefined {
    return this.marks.get(key)
  }

  raiseMark(key: string, ms: number): void {
    const cur = this.marks.get(key)
    if (cur === undefined || ms > cur) this.marks.set(key, ms)
  }
}
