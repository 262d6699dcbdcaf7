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

const CI_IDENTITY = /^(github|gitlab|circleci|buildkite|[\w.-]+):(.+?):ref:(?:refs\/heads\/)?([^:]+)(?::environment:([^:]+))?(?::run:([^:]+):attempt:([^:]+))?$/
const MAX_IDENTITY = 40

/**
 * A CI identity a person reads at a glance (`github:acme/app@main #1477155`);
 * the full value goes in the tooltip. Anything else that is long keeps both
 * ends and drops the middle.
 */
export function shortIdentity(who: string): string {
  const m = CI_IDENTITY.exec(who)
  if (m) {
    const [, ci, project, ref, environment, run, attempt] = m
    return `${ci}:${project}@${ref}${environment ? ` (${environment})` : ''}${run ? ` #${run}${attempt && attempt !== '1' ? `.${attempt}` : ''}` : ''}`
  }
  if (who.length <= MAX_IDENTITY) return who
  return `${who.slice(0, 24)}…${who.slice(-12)}`
}

/**
 * A commit's page from a template with `{repo}` and `{sha}` (status app
 * option `commitUrlTemplate`, env COMMIT_URL_TEMPLATE); only http(s) results.
 */
export function commitUrl(template: string | undefined, repo: string, sha: string): string | undefined {
  if (!template) return undefined
  return safeHttpUrl(template.replaceAll('{repo}', encodeURIComponent(repo)).replaceAll('{sha}', encodeURIComponent(sha)))
}
