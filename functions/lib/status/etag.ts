/**
 * Conditional requests for status reads. Everything a status response shows
 * is a function of the repo's head commit (environment files and holds live in
 * the same repo), so the head SHA is a sound validator: one cheap `Log` call
 * answers "has anything changed?" without reading every file.
 */

/**
 * A weak ETag for one representation (`variant`: `json`, `fragment`, ...) of
 * the state at `headSha`. Weak because the bytes may differ (relative times)
 * while the meaning does not.
 */
export function etagFor(variant: string, headSha: string | null): string {
  return `W/"${variant}-${headSha ?? 'empty'}"`
}

/** RFC 9110 weak comparison of an If-None-Match header against our ETag. */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const value = header.trim()
  if (value === '*') return true
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  const ours = opaque(etag)
  return value.split(',').some((candidate) => opaque(candidate) === ours)
}
