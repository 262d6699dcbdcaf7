/**
 * Who minted which token, so that only that identity may revoke it.
 *
 * githosted cannot tell us: token records carry no subject, and
 * ExchangeToken tokens have no name to encode one in. So the broker keeps
 * its own record, behind this interface. The default store is in memory:
 * a record lives in the container that minted the token, until the token
 * expires. A revoke that reaches another container (or arrives after a
 * restart) gets a 404 that says so; the token still dies at its TTL. A
 * DynamoDB-backed store (conditional put, TTL attribute = expiry) can
 * implement the same interface to make revocation work across containers.
 */
import type { CallerIdentity } from '../auth/types.js'
import { hashKey } from '../hash-key.js'
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'

export interface OwnershipRecord {
  tokenId: string
  /** Stable owner key (see ownerKey). */
  owner: string
  expiresAt: Date
}

export interface OwnershipStore {
  put(record: OwnershipRecord): Promise<void>
  /** The live record, or undefined when unknown or expired. */
  get(tokenId: string): Promise<OwnershipRecord | undefined>
  delete(tokenId: string): Promise<void>
}

/**
 * The identity a token belongs to: kind, issuer and subject (a new OIDC token
 * of the same job matches), hashed so that a shared store never holds an
 * identity in clear.
 */
export function ownerKey(identity: CallerIdentity): string {
  return hashKey(identity.kind, identity.issuer ?? '', identity.subject)
}

/**
 * In-memory store, bounded: expired records make room first; past the bound
 * the oldest go, whose tokens still expire on their own.
 */
export function createMemoryOwnershipStore(options: { clock?: () => Date; maxRecords?: number } = {}): OwnershipStore {
  const clock = options.clock
  const records = new BoundedTtlCache<string, OwnershipRecord>({
    maxEntries: options.maxRecords ?? 50_000,
    ...(clock ? { now: () => clock().getTime() } : {}),
  })
  return {
    async put(record) {
      records.set(record.tokenId, record, record.expiresAt.getTime())
    },
    async get(tokenId) {
      return records.get(tokenId)
    },
    async delete(tokenId) {
      records.delete(tokenId)
    },
  }
}
