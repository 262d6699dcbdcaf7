/**
 * Single use for OIDC tokens exchanged for a githosted token: the first
 * `claim` of a key wins until the token would have expired anyway. Stores
 * fail closed: if one cannot answer, the caller is not authenticated.
 */
import { createHash } from 'node:crypto'
import { BoundedTtlCache } from '../cache/bounded-ttl-cache.js'
import { ReplayStoreUnavailableError } from './errors.js'

export interface ReplayStore {
  /**
   * Records `key` until `expiresAt`. Resolves true the first time, false if
   * the key is already recorded and not expired. Rejects if the store cannot
   * answer (the caller must then fail closed).
   */
  claim(key: string, expiresAt: Date): Promise<boolean>
  /**
   * Forgets `key`, so the same token can be retried after the broker failed
   * downstream (e.g. githosted answered 5xx) before anything was minted.
   */
  release?(key: string): Promise<void>
}

/** What the replay key of a verified token is computed from. */
export interface ReplayKeyInput {
  issuer: string
  claims: { jti?: unknown; sub?: unknown; iat?: unknown }
  /** The decoded signature bytes (not their base64url spelling). */
  signature: Uint8Array
}

/**
 * The replay key of a verified token, hex and safe to log: a SHA-256 over the
 * issuer and `jti` (so one issuer cannot burn another's ids), or, for tokens
 * without `jti` (CircleCI, Buildkite), over the issuer, `sub`, `iat` and the
 * decoded signature bytes. Never over the token text: re-spelling a segment
 * (its unused low bits) must not yield a fresh key. Fields are length-prefixed
 * so no two inputs share an encoding.
 */
export function replayKey({ issuer, claims, signature }: ReplayKeyInput): string {
  const hash = createHash('sha256')
  const field = (value: string | Uint8Array) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    hash.update(`${bytes.length}:`).update(bytes)
  }
  if (typeof claims.jti === 'string' && claims.jti !== '') {
    field('jti')
    field(issuer)
    field(claims.jti)
  } else {
    field('sig')
    field(issuer)
    field(String(claims.sub ?? ''))
    field(String(claims.iat ?? ''))
    field(signature)
  }
  return hash.digest('hex')
}

export interface MemoryReplayStoreOptions {
  /** Most keys held at once; when full of unexpired keys, claims fail closed. Default 10,000. */
  maxEntries?: number
  clock?: () => Date
}

/**
 * A per-process store: right for `npm start`, tests and a single container.
 * On Lambda every container has its own, so production should use the
 * DynamoDB store (REPLAY_TABLE_NAME).
 */
export class MemoryReplayStore implements ReplayStore {
  // Values unused: a key is claimed while its entry lives.
  private readonly entries: BoundedTtlCache<string, true>
  private readonly maxEntries: number

  constructor(options: MemoryReplayStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000
    const clock = options.clock ?? (() => new Date())
    this.entries = new BoundedTtlCache({ maxEntries: this.maxEntries, now: () => clock().getTime() })
  }

  get size(): number {
    return this.entries.size
  }

  async claim(key: string, expiresAt: Date): Promise<boolean> {
    if (this.entries.has(key)) return false
    if (this.entries.size >= this.maxEntries) {
      this.entries.pruneExpired()
      // The cache would make room by forgetting a live key, whose token could then be replayed: refuse instead.
      if (this.entries.size >= this.maxEntries) {
        throw new ReplayStoreUnavailableError('replay store is full; try again shortly')
      }
    }
    this.entries.set(key, true, expiresAt.getTime())
    return true
  }

  async release(key: string): Promise<void> {
    this.entries.delete(key)
  }
}
