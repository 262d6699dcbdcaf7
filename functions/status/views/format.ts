/**
 * Small display helpers shared by the dashboard views.
 */

/** Only http(s) links are rendered as links: a trailer is text anyone with write access could set. */
export function safeHttpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined
  } catch {
    return undefined
  }
}

/** A short label for a CI run link: host and the last two path segments. */
export function runLabel(url: string): string {
  const u = new URL(url)
  const tail = u.pathname.split('/').filter(Boolean).slice(-2).join('/')
  return tail ? `${u.host}/…/${tail}` : u.host
}

/** An id attribute value derived from an environment name (names are already path-safe). */
export function envId(environment: string): string {
  return `env-${environment.replace(/[^A-Za-z0-9_-]/g, '_')}`
}
