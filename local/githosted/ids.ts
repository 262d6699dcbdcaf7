import { randomBytes, randomInt } from 'node:crypto'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz'

/** Random string over `alphabet` from the CSPRNG (ids and secrets never use the seeded random). */
export function randomString(length: number, alphabet: string): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}

/** Repo id as githosted documents it: `rp_` + 20 chars over [0-9a-z]. */
export function newRepoId(): string {
  return `rp_${randomString(20, BASE36)}`
}

/** Workspace id, `ws_` + 20 chars over [0-9a-z] (format of the suffix is a guess). */
export function newWorkspaceId(): string {
  return `ws_${randomString(20, BASE36)}`
}

/** Organization id, `org_` + 20 chars over [0-9a-z] (format of the suffix is a guess). */
export function newOrganizationId(): string {
  return `org_${randomString(20, BASE36)}`
}

/** Token record id (githosted's format is undocumented). */
export function newTokenId(): string {
  return `tok_${randomString(20, BASE36)}`
}

/** A token secret: `gw_`/`gr_` + 40 base62 chars (about 238 bits). */
export function newTokenSecret(prefix: 'gw' | 'gr'): string {
  return `${prefix}_${randomString(40, BASE62)}`
}

/** A fresh random pepper, hex. */
export function newPepper(): string {
  return randomBytes(32).toString('hex')
}

/**
 * Deterministic PRNG (mulberry32) so fault-injection tests can reproduce a
 * sequence of injected failures from a seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
