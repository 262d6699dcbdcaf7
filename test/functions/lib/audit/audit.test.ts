import { describe, expect, it } from 'vitest'
import { auditClaims, createAuditor, fingerprint } from '../../../../functions/lib/audit/audit.js'
import { createLogger } from '../../../../functions/lib/observability/logger.js'

describe('audit', () => {
  it('fingerprints are the first 16 hex chars of SHA-256', () => {
    // sha256('abc') = ba7816bf8f01cfea414140de5dae2223...
    expect(fingerprint('abc')).toBe('ba7816bf8f01cfea')
  })

  it('keeps scalar claims only, bounded', () => {
    const claims = auditClaims({ repository: 'acme/app', run_attempt: 2, ref_protected: true, groups: ['x'], n: null })
    expect(claims).toEqual({ repository: 'acme/app', run_attempt: 2, ref_protected: true })
    expect(String(auditClaims({ long: 'x'.repeat(500) }).long).length).toBeLessThan(210)
  })

  it('writes one JSON line with identity, rule and fingerprint', () => {
    const lines: string[] = []
    const auditor = createAuditor(createLogger({ sink: (l) => lines.push(l), level: 'info' }))
    auditor.record({
      event: 'token.mint',
      requestId: 'r1',
      outcome: 'allowed',
      reason: 'rule ci matched',
      code: 'OK',
      identity: { kind: 'broker-key', keyName: 'ci', subject: 'key:ci', claims: { keyName: 'ci' }, credentialId: 'h' },
      rule: 'ci',
      repos: ['deploy-configs'],
      permission: 'write',
      ttlSeconds: 3600,
      tokenId: 'tok_1',
      tokenFingerprint: fingerprint('secret'),
      extra: { method: 'exchange' },
    })
    expect(lines).toHaveLength(1)
    const rec = JSON.parse(lines[0]!)
    expect(rec).toMatchObject({
      message: 'audit',
      audit: 1,
      event: 'token.mint',
      outcome: 'allowed',
      rule: 'ci',
      tokenId: 'tok_1',
      method: 'exchange',
      identity: { kind: 'broker-key', subject: 'key:ci', claims: { keyName: 'ci' } },
    })
    expect(rec.identity.credentialId).toBeUndefined()
    expect(rec.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/)
  })
})
