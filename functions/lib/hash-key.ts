/**
 * The one way the broker turns identities and names into opaque keys: SHA-256
 * hex over the parts, each NUL-terminated so that ("a","bc") and ("ab","c")
 * differ. The state table keys its items with it and the token owner key is
 * one, so records written by one container match in every other.
 */
import { createHash } from 'node:crypto'

export function hashKey(...parts: string[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p).update('\u0000')
  return h.digest('hex')
}
