/**
 * A tiny per-container cache of reports keyed by head SHA. A report read at
 * a given head never changes (files, logs and holds are all read at that
 * commit), so many viewers polling the same head cost one set of reads; a
 * new head is simply a new key. Only successful reads are stored.
 */
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'

export interface SnapshotCache<T> {
  get(key: string, load: () => Promise<T>): Promise<T>
}

export function createSnapshotCache<T>(maxEntries = 16): SnapshotCache<T> {
  const entries = new BoundedTtlCache<string, Promise<T>>({ maxEntries, touchOnGet: true })
  return {
    get(key, load) {
      return entries.get(key) ?? entries.setPending(key, load())
    },
  }
}
