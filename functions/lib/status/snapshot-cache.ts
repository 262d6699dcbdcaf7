/**
 * A tiny per-container cache of reports keyed by head SHA. A report read at
 * a given head never changes (files, logs and holds are all read at that
 * commit), so many viewers polling the same head cost one set of reads; a
 * new head is simply a new key. Only successful reads are stored.
 */
export interface SnapshotCache<T> {
  get(key: string, load: () => Promise<T>): Promise<T>
}

export function createSnapshotCache<T>(maxEntries = 16): SnapshotCache<T> {
  const entries = new Map<string, Promise<T>>()
  return {
    get(key, load) {
      const hit = entries.get(key)
      if (hit) {
        // Refresh recency: Map iteration order is insertion order.
        entries.delete(key)
        entries.set(key, hit)
        return hit
      }
      const pending = load()
      entries.set(key, pending)
      pending.catch(() => {
        if (entries.get(key) === pending) entries.delete(key)
      })
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value as string
        entries.delete(oldest)
      }
      return pending
    },
  }
}
