/** githosted clients per token for a Lambda container. */
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'
import { Client } from '../githosted/index.js'
import type { GithostedClient, GithostedClientFactory } from '../githosted/types.js'

/**
 * Keeps the clients of the `max` most recently created tokens (oldest
 * dropped first), so a client's learned server capabilities survive across
 * requests; a rotated token simply gets a new client.
 */
export function cachedClientFactory(baseUrl: string, max: number): GithostedClientFactory {
  const clients = new BoundedTtlCache<string, GithostedClient>({ maxEntries: max })
  return (token) => {
    let c = clients.get(token)
    if (!c) {
      c = new Client({ token, baseUrl, clientName: 'githosted-ci-broker' })
      clients.set(token, c)
    }
    return c
  }
}
