/**
 * Dependencies built on first use. A Lambda builds its dependencies on the
 * first request or event that needs them, not at INIT: a missing variable
 * then becomes an answer naming it (a 500 problem, a logged failure) instead
 * of a crashed container, and no secret or dependency is touched at module
 * load (the one exception, opening connections early, is lambda/warm-up.ts).
 *
 * `lazily` memoizes a successful build; a failed one is tried again on the next
 * request, so fixing a secret or variable needs no cold start.
 */
export function lazily<T>(build: () => T): () => T {
  let built: { value: T } | undefined
  return () => (built ??= { value: build() }).value
}

/** Dependencies given as a value or as a builder, resolved (defaults filled) once on first use. */
export function lazyDeps<D extends object, R>(deps: D | (() => D), resolve: (d: D) => R): () => R {
  return lazily(() => resolve(typeof deps === 'function' ? deps() : deps))
}
