/**
 * Who may look at the dashboard page. A viewer credential is a random secret
 * per deployment (`gvc_` + 43 base64url chars); only its SHA-256 is stored
 * (Secrets Manager, VIEWER_CREDENTIAL_SECRET_ARN), like the broker keys.
 *
 * Opening `/?key=<credential>` once exchanges the credential for a session
 * cookie and redirects to `/`, so the credential leaves the address bar and
 * the history. The cookie holds no credential: it is an expiry plus an HMAC
 * keyed by the stored hash. That keeps sessions stateless across Lambda
 * containers, unforgeable without the secret, and revoked all at once when
 * the credential is rotated (the hash, and so the key, changes).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '../errors.js'
import type { SecretSource } from '../secrets/index.js'

export const VIEWER_CREDENTIAL_PREFIX = 'gvc_'
export const VIEWER_COOKIE = 'gcb_viewer'
const SESSION_VERSION = 'v1'

export interface ViewerAccess {
  /** Whether `credential` is this deployment's viewer credential (constant time). */
  checkCredential(credential: string): Promise<boolean>
  /** A cookie value for a session that ends `ttlSeconds` after `now`. */
  issueSession(now: Date): Promise<string>
  /** Whether a cookie value is a session we issued that has not expired. */
  checkSession(cookie: string | undefined, now: Date): Promise<boolean>
  readonly sessionTtlSeconds: number
}

/** A fresh credential and the hash to store for it. Print the credential once; store only the hash. */
export function generateViewerCredential(): { credential: string; sha256: string } {
  const credential = VIEWER_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url')
  return { credential, sha256: hashViewerCredential(credential) }
}

export function hashViewerCredential(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex')
}

/**
 * The stored hash from the secret's value: either the 64-hex digest itself or
 * JSON `{"sha256": "<hex>"}` (the broker-keys secret's style). Fails closed.
 */
export function parseStoredViewerHash(secretValue: string): string {
  let candidate = secretValue.trim()
  if (candidate.startsWith('{')) {
    try {
      const parsed = JSON.parse(candidate) as { sha256?: unknown }
      candidate = typeof parsed.sha256 === 'string' ? parsed.sha256 : ''
    } catch {
      candidate = ''
    }
  }
  if (!/^[0-9a-f]{64}$/i.test(candidate)) {
    throw new ConfigError('viewer credential secret must hold a SHA-256 hex digest or {"sha256": "<hex>"}')
  }
  return candidate.toLowerCase()
}

export function createViewerAccess(options: {
  /** The secret holding the stored hash. */
  hash: SecretSource
  /** Default 12 hours. */
  sessionTtlSeconds?: number
}): ViewerAccess {
  const sessionTtlSeconds = options.sessionTtlSeconds ?? 12 * 3600
  const storedHash = async () => parseStoredViewerHash(await options.hash.get())
  const mac = (hash: string, expires: number) =>
    createHmac('sha256', Buffer.from(hash, 'hex'))
      .update(`githosted-ci-broker viewer session ${SESSION_VERSION} ${expires}`)
      .digest()

  return {
    sessionTtlSeconds,
    async checkCredential(credential) {
      if (!credential.startsWith(VIEWER_CREDENTIAL_PREFIX) || credential.length > 200) return false
      const expected = Buffer.from(await storedHash(), 'hex')
      const actual = createHash('sha256').update(credential, 'utf8').digest()
      return timingSafeEqual(expected, actual)
    },
    async issueSession(now) {
      const expires = Math.floor(now.getTime() / 1000) + sessionTtlSeconds
      return `${SESSION_VERSION}.${expires}.${mac(await storedHash(), expires).toString('base64url')}`
    },
    async checkSession(cookie, now) {
      if (!cookie) return false
      const [version, expiresText, signature] = cookie.split('.')
      if (version !== SESSION_VERSION || !expiresText || !signature || !/^\d{1,12}$/.test(expiresText)) {
        return false
      }
      const expires = Number(expiresText)
      if (expires <= Math.floor(now.getTime() / 1000)) return false
      const expected = mac(await storedHash(), expires)
      const actual = Buffer.from(signature, 'base64url')
      return actual.length === expected.length && timingSafeEqual(actual, expected)
    },
  }
}
