/**
 * Repo handles for deploy code that can only touch one repo. The workspace
 * token (gw_) is used for one thing: exchanging it for a short-lived write
 * token (gr_) scoped to the target repo, with the caller's identity as the
 * githosted `subject`. The deploy core then runs with that gr_ only, so a bug
 * in deploy code cannot reach another repo, and githosted's own audit shows
 * who each write was for. Tokens are cached per (repo, subject) until shortly
 * before they expire.
 */
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'
import type { GithostedClientFactory, RepoHandle } from '../githosted/types.js'
import type { SecretSource } from '../secrets/source.js'
import { createMinter } from '../tokens/mint.js'

export interface ScopedRepoOptions {
  workspaceToken: SecretSource
  githosted: GithostedClientFactory
  clock?: () => Date
  /** Lifetime of the minted gr_ token. Default 15 minutes. */
  ttlSeconds?: number
  /** Most cached tokens kept (oldest dropped first). Default 100. */
  maxEntries?: number
}

/** Returns a write handle to `repo` for `subject` (minting or reusing a scoped token). */
export type ScopedRepoProvider = (repo: string, subject: string) => Promise<RepoHandle>

const RENEW_BEFORE_MS = 60_000

export function createScopedRepoProvider(options: ScopedRepoOptions): ScopedRepoProvider {
  const clock = options.clock ?? (() => new Date())
  const ttlSeconds = options.ttlSeconds ?? 900
  const max = options.maxEntries ?? 100
  const minter = createMinter({ workspaceToken: options.workspaceToken, githosted: options.githosted, clock })
  // No TTL here: a token's expiry is known only once it is minted, so it is checked on use.
  const cache = new BoundedTtlCache<string, Promise<{ token: string; expiresAt: Date }>>({ maxEntries: max })

  return async (repo, subject) => {
    const key = `${repo}\u0000${subject}`
    let entry = cache.get(key)
    if (entry) {
      const e = await entry.catch(() => undefined)
      if (!e || e.expiresAt.getTime() - RENEW_BEFORE_MS <= clock().getTime()) {
        cache.deleteIf(key, entry)
        entry = undefined
      }
    }
    if (!entry) {
      entry = cache.setPending(
        key,
        minter
          .mint({ repos: [repo], permission: 'write', ttlSeconds, maxTtlSeconds: Math.max(ttlSeconds, 3600), subject })
          .then((m) => ({ token: m.token, expiresAt: m.expiresAt })),
      )
    }
    const { token } = await entry
    return options.githosted(token).repo(repo)
  }
}
