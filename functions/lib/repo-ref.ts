/**
 * The one rule for naming a repo, wherever a name comes in (token requests,
 * deploy bodies, events, the mapping, STATUS_REPO, `?repo=`): a slug as
 * githosted shows them (lower-case letters, digits, '-', '_', '.'; starting
 * and ending with a letter or digit; no '..'), or a stable `rp_` id. A name is
 * also a path component on the server and a key in the policy's globs, so
 * one accepted set everywhere means no repo can be reachable by one endpoint
 * and refused by another.
 */
const SLUG_RE = /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/
const REPO_ID_RE = /^rp_[0-9a-z]{20}$/

/** In words, for error messages. */
export const REPO_REF_RULE = `a repo slug (lower-case letters, digits, '-', '_', '.'; e.g. "deploy-configs") or an rp_ id`

export function isRepoSlug(value: string): boolean {
  return SLUG_RE.test(value) && !value.includes('..')
}

export function isRepoRef(value: unknown): boolean {
  return typeof value === 'string' && (REPO_ID_RE.test(value) || isRepoSlug(value))
}
