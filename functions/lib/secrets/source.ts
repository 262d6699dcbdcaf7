/**
 * Secret sources: where a function gets a secret value (the workspace token,
 * broker key hashes, ...). Values are fetched lazily on first use, never at
 * module load, cached per container for a bounded time, and can be
 * invalidated when the upstream tells us the value went stale (rotation).
 */

/** A secret the app can read; `invalidate()` forces the next `get()` to refetch. */
export interface SecretSource {
  get(): Promise<string>
  invalidate(): void
}

/** Fetches the current value from wherever the secret lives. */
export type SecretFetcher = () => Promise<string>

export interface CachedSecretOptions {
  /** How long a fetched value is served before refetching. Default 300 s (as the AWS extension). */
  ttlMs?: number
  clock?: () => Date
}

/**
 * Wraps a fetcher in a per-container cache. Concurrent callers share one
 * in-flight fetch (single flight), so a burst of cold requests costs exactly
 * one Secrets Manager call. Failures are not cached: the next call retries.
 */
export function createCachedSecret(fetcher: SecretFetcher, options: CachedSecretOptions = {}): SecretSource {
  const ttlMs = options.ttlMs ?? 300_000
  const now = () => (options.clock ? options.clock().getTime() : Date.now())
  let value: string | undefined
  let fetchedAt = 0
  let inflight: Promise<string> | undefined
  // Bumped by invalidate(): a fetch started before an invalidation must not repopulate the cache.
  let generation = 0

  const fetchOnce = (): Promise<string> => {
    const started = generation
    const p = fetcher().then(
      (v) => {
        if (started === generation) {
          value = v
          fetchedAt = now()
        }
        return v
      },
    )
    inflight = p
    const clear = () => {
      if (inflight === p) inflight = undefined
    }
    p.then(clear, clear)
    return p
  }

  return {
    get() {
      if (value !== undefined && now() - fetchedAt < ttlMs) return Promise.resolve(value)
      return inflight ?? fetchOnce()
    },
    invalidate() {
      generation++
      value = undefined
      inflight = undefined
    },
  }
}

/** A fixed value (local runs, tests). `invalidate()` is a no-op: there is nothing to refetch. */
export function staticSecret(value: string): SecretSource {
  return { get: () => Promise.resolve(value), invalidate: () => {} }
}
