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
import { createHash } from 'node:crypto'

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
  // Each part NUL-terminated, as the state table hashes its keys, so stored records keep matching.
  const h = createHash('sha256')
  for (const part of [identity.kind, identity.issuer ?? '', identity.subject]) h.update(part).update('\u0000')
  return h.digest('hex')
}

/** In-memory store, bounded: expired records are dropped as new ones arrive. */
export function createMemoryOwnershipStore(options: { clock?: () => Date; maxRecords?: number } = {}): OwnershipStore {
  const now = () => (options.clock ? options.clock().getTime() : Date.now())
  const max = options.maxRecords ?? 50_000
  const records = new Map<string, OwnershipRecord>()

  const prune = () => {
    const t = now()
    for (const [id, r] of records) if (r.expiresAt.getTime() <= t) records.delete(id)
    // Still full: drop the oldest insertions; their tokens still expire on their own.
    while (records.size >= max) {
      const oldest = records.keys().next().value
      if (oldest === undefined) break
      records.delete(oldest)
    }
  }

  return {
    async put(record) {
      if (records.size >= max / 2) prune()
      records.set(record.tokenId, record)
    },
    async get(tokenId) {
      const r = records.get(tokenId)
      if (!r) return undefined
      if (r.expiresAt.getTime() <= now()) {
        records.delete(tokenId)
        return undefined
      }
      return r
    },
    async delete(tokenId) {
      records.delete(tokenId)
    },
  }
}
