/**
 * The broker-keys secret as the authenticator consumes it: the stored key
 * list, re-parsed only when the fetched value changes (rotation), not on
 * every request.
 */
import { ConfigError } from '../errors.js'
import type { SecretSource } from '../secrets/source.js'
import { parseStoredKeys, type StoredKey } from './broker-keys.js'

/** Reads `{"keys":[{"name","sha256"}]}` from `source`; parses once per fetched value. */
export function storedKeysFromSecret(source: SecretSource): () => Promise<readonly StoredKey[]> {
  let raw: string | undefined
  let keys: readonly StoredKey[] = []
  return async () => {
    const value = await source.get()
    if (value !== raw) {
      let doc: unknown
      try {
        doc = JSON.parse(value)
      } catch {
        throw new ConfigError('The broker keys secret is not JSON ({"keys":[{"name","sha256"}]}).')
      }
      keys = parseStoredKeys(doc)
      raw = value
    }
    return keys
  }
}
