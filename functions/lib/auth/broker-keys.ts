/**
 * Broker API keys for seed-compatible callers: `gbk_` + 43 base64url chars
 * (32 random bytes). The broker keeps only a name and the key's SHA-256 (a
 * fast hash is enough for 256 random bits), and compares digests in constant
 * time against every stored key, so timing reveals neither whether nor which
 * key matched.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import * as v from 'valibot'
import { ConfigError } from '../errors.js'

export const BROKER_KEY_PREFIX = 'gbk_'
export const BROKER_KEY_RE = /^gbk_[A-Za-z0-9_-]{43}$/

/** A key as stored: name and lowercase SHA-256 hex of the whole key string. */
export interface StoredKey {
  name: string
  sha256: string
}

const KEY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/

const StoredKeySchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(KEY_NAME_RE, 'name must be 1-63 chars of a-z 0-9 . _ -')),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex chars')),
})
const StoredKeysSchema = v.strictObject({ keys: v.array(StoredKeySchema) })

/** Whether a name is acceptable for a broker key (also used by the policy). */
export function isValidKeyName(name: string): boolean {
  return KEY_NAME_RE.test(name)
}

/** A fresh random key. Show it once; store only {@link hashBrokerKey}. */
export function generateBrokerKey(): string {
  return BROKER_KEY_PREFIX + randomBytes(32).toString('base64url')
}

/** SHA-256 hex of a key, the stored form. */
export function hashBrokerKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** A short, non-secret id for a key (rate limiting, audit): the first 16 hex of its hash. */
export function brokerKeyId(sha256: string): string {
  return `key:${sha256.slice(0, 16)}`
}

/**
 * Parses the broker-keys secret (`{"keys":[{"name","sha256"}]}`), rejecting
 * malformed entries and duplicate names or digests.
 */
export function parseStoredKeys(input: unknown): StoredKey[] {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      throw new ConfigError('broker keys: secret is not valid JSON')
    }
  }
  const result = v.safeParse(StoredKeysSchema, value)
  if (!result.success) {
    const issue = result.issues[0]
    const path = issue ? v.getDotPath(issue) : undefined
    throw new ConfigError(`broker keys: ${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`)
  }
  const names = new Set<string>()
  const digests = new Set<string>()
  for (const key of result.output.keys) {
    if (names.has(key.name)) throw new ConfigError(`broker keys: duplicate name ${key.name}`)
    if (digests.has(key.sha256)) throw new ConfigError(`broker keys: ${key.name} repeats another key's digest`)
    names.add(key.name)
    digests.add(key.sha256)
  }
  return result.output.keys
}

/**
 * Finds the stored key matching `presented`, comparing against every stored
 * digest (no early exit). Returns undefined when none matches or the key is
 * not even well-formed. `compare` is injectable only so tests can count comparisons.
 */
export function matchBrokerKey(
  presented: string,
  stored: readonly StoredKey[],
  compare: (a: Buffer, b: Buffer) => boolean = timingSafeEqual,
): StoredKey | undefined {
  if (!BROKER_KEY_RE.test(presented)) return undefined
  const digest = createHash('sha256').update(presented, 'utf8').digest()
  let found: StoredKey | undefined
  for (const key of stored) {
    const candidate = Buffer.from(key.sha256, 'hex')
    // A malformed stored digest has the wrong length; compare against zeros to keep timing flat.
    const equal =
      candidate.length === digest.length
        ? compare(candidate, digest)
        : compare(Buffer.alloc(digest.length), digest) && false
    if (equal && !found) found = key
  }
  return found
}
