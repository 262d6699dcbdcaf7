import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { staticSecret } from '../../../../functions/lib/secrets/index.js'
import {
  createViewerAccess,
  generateViewerCredential,
  hashViewerCredential,
  parseStoredViewerHash,
} from '../../../../functions/lib/status/viewer-access.js'

const now = new Date('2024-05-01T12:00:00Z')
const later = (s: number) => new Date(now.getTime() + s * 1000)

describe('viewer access', () => {
  const { credential, sha256 } = generateViewerCredential()
  const access = createViewerAccess({ hash: staticSecret(sha256), sessionTtlSeconds: 3600 })

  it('generates gvc_ credentials and stores only their SHA-256', () => {
    expect(credential).toMatch(/^gvc_[A-Za-z0-9_-]{43}$/)
    expect(sha256).toBe(hashViewerCredential(credential))
    expect(sha256).not.toContain(credential.slice(4))
  })

  it('accepts the credential and nothing else', async () => {
    expect(await access.checkCredential(credential)).toBe(true)
    expect(await access.checkCredential(credential.slice(0, -1) + (credential.endsWith('A') ? 'B' : 'A'))).toBe(false)
    expect(await access.checkCredential(sha256)).toBe(false)
    expect(await access.checkCredential('')).toBe(false)
  })

  it('issues sessions that carry no credential, verify until expiry, and resist tampering', async () => {
    const session = await access.issueSession(now)
    expect(session).not.toContain(credential)
    expect(session).not.toContain(sha256)
    expect(await access.checkSession(session, later(3599))).toBe(true)
    expect(await access.checkSession(session, later(3600))).toBe(false)
    const [v, exp, sig] = session.split('.')
    expect(await access.checkSession(`${v}.${Number(exp) + 3600}.${sig}`, later(10))).toBe(false)
    expect(await access.checkSession(`${v}.${exp}.${sig!.slice(0, -2)}AA`, later(10))).toBe(false)
    expect(await access.checkSession(undefined, now)).toBe(false)
    expect(await access.checkSession('garbage', now)).toBe(false)
  })

  it('ends every session when the credential is rotated', async () => {
    const session = await access.issueSession(now)
    const rotated = createViewerAccess({ hash: staticSecret(generateViewerCredential().sha256) })
    expect(await rotated.checkSession(session, later(1))).toBe(false)
  })

  it('reads the stored hash as hex or {"sha256"} and fails closed on anything else', () => {
    expect(parseStoredViewerHash(sha256.toUpperCase())).toBe(sha256)
    expect(parseStoredViewerHash(JSON.stringify({ sha256 }))).toBe(sha256)
    expect(() => parseStoredViewerHash('')).toThrow(ConfigError)
    expect(() => parseStoredViewerHash(credential)).toThrow(ConfigError)
    expect(() => parseStoredViewerHash('{"sha256": 1}')).toThrow(ConfigError)
  })
})
