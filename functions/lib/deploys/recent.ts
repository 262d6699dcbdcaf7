/**
 * In-process memory of recent deploys: results by idempotency key / event id
 * (including ones still in flight, so two concurrent deliveries of one event
 * in the same process share one write), and the newest event time applied per
 * key (an ordering watermark that still works when the server's Log has no
 * full messages). Bounded and time-limited; a cold container starts empty,
 * which is why the Git history is the source of truth and this only a cache.
 */
export interface RecentDeploysOptions {
  maxEntries?: number
  ttlMs?: number
  clock?: () => number
}

interface Entry<T> {
  value: T
  at: number
}

export class RecentDeploys<R = unknown> {
  private readonly results = new Map<string, Entry<Promise<R>>>()
  private readonly marks = new Map<string, Entry<number>>()
  private readonly max: number
  private readonly ttl: number
  private readonly now: () => number

  constructor(options: RecentDeploysOptions = {}) {
    this.max = options.maxEntries ?? 1000
    this.ttl = options.ttlMs ?? 60 * 60 * 1000
    this.now = options.clock ?? Date.now
  }

  /** The result (or in-flight promise) recorded under `key`, if fresh. */
  get(key: string): Promise<R> | undefined {
    return this.fresh(this.results, key)
  }

  /** Records a promise; a rejection removes it so that a failed attempt can be retried. */
  remember(key: string, result: Promise<R>): void {
    this.put(this.results, key, result)
    result.catch(() => {
      if (this.results.get(key)?.value === result) this.results.delete(key)
    })
  }

  /** Newest event time (ms) applied for a key in this process. */
  mark(key: string): number | undefined {
    return this.fresh(this.marks, key)
  }

  raiseMark(key: string, ms: number): void {
    const cur = this.fresh(this.marks, key)
    if (cur === undefined || ms > cur) this.put(this.marks, key, ms)
  }

  private fresh<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    const e = map.get(key)
    if (!e) return undefined
    if (this.now() - e.at > this.ttl) {
      map.delete(key)
      return undefined
    }
    return e.value
  }

  private put<T>(map: Map<string, Entry<T>>, key: string, value: T): void {
    map.delete(key)
    map.set(key, { value, at: this.now() })
    // Maps iterate in insertion order: the first key is the oldest.
    while (map.size > this.max) map.delete(map.keys().next().value as string)
  }
}
