/**
 * Attacks on policy matching: ReDoS through attacker-chosen claim values,
 * identity claims sent as lists, look-alike claim values, and policies that
 * would trust far more than their author meant (refused at load).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../functions/lib/errors.js'
import { compileGlob, loadPolicy, MAX_CLAIM_VALUE_LENGTH } from '../../functions/lib/policy/index.js'
import { ISSUERS_SECTION, oidcIdentity } from '../functions/lib/policy/support.js'
import { REPO, startHarness, type Harness } from './harness.js'

/** The rules the ReDoS finding used: checked before the identity claim in the old evaluator. */
const redosRules = (issuer: string) => [
  {
    name: 'releases',
    match: { issuer, claims: { ref: 'refs/tags/v*.*.*', repository_id: '74' } },
    grant: { repos: [REPO], permission: 'read', maxTtl: '10m' },
  },
  {
    name: 'features',
    match: { issuer, claims: { ref: 'refs/heads/*-*-*-*', repository_id: '74' } },
    grant: { repos: [REPO], permission: 'read', maxTtl: '10m' },
  },
]

let h: Harness

beforeAll(async () => {
  h = await startHarness({
    policy: (oidc) =>
      loadPolicy(
        { version: 1, issuers: { 'local-github': { preset: 'github' } }, rules: redosRules('local-github') },
        { issuerUrls: { 'local-github': oidc.issuers.github } },
      ),
  })
})
afterAll(async () => {
  await h?.close()
})

/** Mints as a GitHub job with these claims (a short `sub`: GitHub caps it, and the broker refuses long ones). */
async function mintAs(claims: Record<string, unknown>) {
  const jwt = await h.oidc.mint('github', { claims: { sub: 'repo:acme/app:ref:refs/tags/v1', ...claims } })
  return h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO, permission: 'read' } })
}

describe('ReDoS through claim values', () => {
  it('64 KB adversarial values against the worst globs match in under 5 ms (wide-margin guard, run once)', () => {
    const policy = loadPolicy({ version: 1, issuers: ISSUERS_SECTION, rules: redosRules('github') })
    const values = [`refs/tags/v${'.'.repeat(64 * 1024)}`, `refs/heads/${'-'.repeat(64 * 1024)}/`]
    const request = { repos: [REPO], permission: 'read' as const, ttlSeconds: 60 }
    const identities = values.map((ref) => oidcIdentity('github', { ref }))
    const globs = [compileGlob('refs/tags/v*.*.*'), compileGlob('refs/heads/*-*-*-*')]
    // Warm the code path on a short value, then time the long ones once.
    policy.authorizeMint(oidcIdentity('github', { ref: 'refs/tags/v1.2.3' }), request)
    const started = performance.now()
    const decisions = identities.map((identity) => policy.authorizeMint(identity, request))
    // The matcher itself, without the length cap, on the same values.
    const raw = globs.map((glob, i) => glob.test(values[i]!))
    const elapsed = performance.now() - started
    expect(decisions.map((d) => d.allowed)).toEqual([false, false])
    expect(raw).toEqual([true, false])
    expect(elapsed).toBeLessThan(5)
  })

  it('the reported payload (v + 8000 dots, which took 127 s) is answered 403 at once', async () => {
    const r = await mintAs({ ref: `refs/tags/v${'.'.repeat(8000)}` })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    const audit = h.audits().at(-1)!
    expect(audit.trace[0].reason).toContain(`longer than ${MAX_CLAIM_VALUE_LENGTH} characters`)
  })

  it('a caller from another repository is turned away on its identity before its other claims are looked at', async () => {
    const r = await mintAs({ repository: 'evil/app', repository_id: '999', ref: `refs/heads/${'-'.repeat(4000)}` })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    for (const entry of h.audits().at(-1)!.trace) expect(entry.reason).toMatch(/^claim repository_id is 999/)
  })

  it('values just over the cap never match, even when a prefix would', async () => {
    const r = await mintAs({ ref: `refs/tags/v1.2.${'3'.repeat(MAX_CLAIM_VALUE_LENGTH)}` })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    expect((await mintAs({ ref: 'refs/tags/v1.2.3' })).status).toBe(201)
  })
})

describe('claim shapes', () => {
  it('an identity claim sent as a list is refused even if one element matches', async () => {
    for (const repository_id of [['999', '74'], ['74'], [74]]) {
      const r = await mintAs({ ref: 'refs/tags/v1.2.3', repository_id })
      expect(r.status).toBe(403)
      expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    }
    expect(h.audits().at(-1)!.trace[0].reason).toContain('a list (identity claims must be a single value)')
  })

  it('look-alike identity values do not match', async () => {
    for (const repository_id of ['74 ', ' 74', '074', '74\u0000', '7\u200b4', '７４', '74.0', true, { id: '74' }]) {
      const r = await mintAs({ ref: 'refs/tags/v1.2.3', repository_id })
      expect(r.status, String(repository_id)).toBe(403)
      expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    }
  })

  it('look-alike ref values do not match', async () => {
    for (const ref of ['refs/tags/v1.2.3/', 'refs/tags/v1.2', 'refs/tags/v1/2.3', 'refs/tags/V1.2.3', 'Refs/tags/v1.2.3', 'refs/tags/v1.2.3:x']) {
      const r = await mintAs({ ref })
      expect(r.status, ref).toBe(403)
      expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    }
  })
})

describe('policies that trust too much are refused at load, with the reason', () => {
  const grant = { repos: [REPO], permission: 'read', maxTtl: '10m' }
  const loadError = (rule: Record<string, unknown>) => {
    try {
      loadPolicy({ version: 1, issuers: ISSUERS_SECTION, rules: [{ name: 'r', ...rule }] })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return (err as Error).message
    }
    throw new Error('the policy loaded')
  }

  it.each([
    [{ repository_owner: 'acme' }],
    [{ repository: 'acme/app' }],
    [{ repository: 'acme/*', ref: 'refs/heads/main' }],
    [{ sub: 'repo:acme/app:ref:refs/heads/main' }],
  ])('GitHub name-only pinning %j', (claims) => {
    expect(loadError({ match: { issuer: 'github', claims }, grant })).toMatch(
      /rule "r" .*must pin an immutable id \(repository_id or repository_owner_id\), not only names: a deleted or renamed owner or repository name can be registered again/,
    )
  })

  it('a GitHub id given as a glob does not count as pinning an id', () => {
    expect(loadError({ match: { issuer: 'github', claims: { repository: 'acme/*', repository_id: '7*' } }, grant })).toMatch(
      /repository_id: "7\*" does not pin an exact id/,
    )
  })

  it.each(['*-*', '*_*', '*.*', '-*', 'r*', 'rp*', 'rp_*', '*p*', '*_*-*'])('a repo grant of %j', (repo) => {
    const message = loadError({ match: { issuer: 'github', claims: { repository_id: '74' } }, grant: { ...grant, repos: [repo] } })
    expect(message).toMatch(/grant\.repos\[0\]: ".*" (has no letter or digit outside its wildcards, so it matches nearly every repo|matches every repo id \(rp_…\))/)
  })

  it('still loads the narrow forms', () => {
    const policy = loadPolicy({
      version: 1,
      issuers: ISSUERS_SECTION,
      rules: [{ name: 'ok', match: { issuer: 'github', claims: { repository_id: '74' } }, grant: { ...grant, repos: ['app-*', 'deploy-configs', 'rp_abc123'] } }],
    })
    expect(policy.ruleNames).toEqual(['ok'])
  })
})
