/**
 * The status function reads with its own repo-scoped token, never the
 * workspace token: a `gw_` here would let a bug in a read path touch every
 * repo. githosted offers no way for a `gr_` to inspect its own permission, so
 * the read-only permission is set when the token is created (see README) and
 * proved by a test; this check refuses the one mistake we can see.
 */
import { ConfigError } from '../errors.js'

export function assertRepoToken(token: string): string {
  if (!token.startsWith('gr_')) {
    throw new ConfigError(
      `the status function needs a repo-scoped read-only token (gr_...), got one starting with ` +
        `'${token.slice(0, 3)}'; store a gr_ token with read permission in the dashboard token secret`,
    )
  }
  return token
}
