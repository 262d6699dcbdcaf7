import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator, type AuthenticatorOptions } from '../../../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey, type StoredKey } from '../../../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore, replayKey, type ReplayStore } from '../../../../functions/lib/auth/replay.js'
import { createLogger } from '../../../../functions/lib/observability/logger.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../../../local/oidc/index.js'
import { AUDIENCE, expectFailure, issuerConfigs } from './support.js'
import { findSecrets } from '../../../setup/secret-patterns.js'

let issuer: LocalOidcIssuer
const legacyKey = generateBrokerKey()
const otherKey = generateBrokerKey()
const stored: StoredKey[] = [
  { name: 'other', sha256: hashBrokerKey(otherKey) },
  { name: 'ci-legacy', sha256: hashBrokerKey(legacyKey) },
]

beforeAll(async () => {
  issuer = await startLocalOidcIssuer({ audience: AUDIENCE })
})
afterAll(async () => {
  await issuer.close()
})

function authenticator(overrides: Partial<AuthenticatorOptions> = {}) {
  return createAuthenticator({
    oidc: { issuers: issuerConfigs(issuer), audience: AUDIENCE, cache: new Map() },
    brokerKeys: async () => stored,
    replayStore: new MemoryReplayStore(),
    ...overrides,
  })
}

describe('Authorization header', () => {
  it('is required and must be "Bearer <credential>"', async () => {
    const auth = authenticator()
    await expectFailure(auth.authenticate(undefined, 'mint'), 'CREDENTIAL_MISSING')
    await expectFailure(auth.authenticate('  ', 'mint'), 'CREDENTIAL_MISSING')
    for (const bad of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b', legacyKey]) {
      await expectFailure(auth.authenticate(bad, 'mint'), 'CREDENTIAL_MALFORMED', legacyKey)
    }
    const err = await expectFailure(auth.authenticate('Bearer gr_notakey', 'mint'), 'CREDENTIAL_MALFORMED')
    expect(err.message).toMatch(/broker key \(gbk_…\) nor an OIDC ID token/)
    await expectFailure(auth.authenticate(`Bearer eyJ${'a'.repeat(20_000)}`, 'mint'), 'CREDENTIAL_MALFORMED')
  })
})

describe('broker keys', () => {
  it('a valid key becomes key:<name> with { keyName } claims, scheme case-insensitive', async () => {
    const identity = await authenticator().authenticate(`bearer ${legacyKey}`, 'mint')
    expect(identity).toEqual({
      kind: 'broker-key',
      keyName: 'ci-legacy',
      subject: 'key:ci-legacy',
      claims: { keyName: 'ci-legacy' },
      credentialId: `key:${hashBrokerKey(legacyKey).slice(0, 16)}`,
    })
    expect(findSecrets(JSON.stringify(identity))).toEqual([])
  })

  it('a key may be used many times (keys are not single use)', async () => {
    const auth = authenticator()
    for (let i = 0; i < 3; i++) await expect(auth.authenticate(`Bearer ${otherKey}`, 'mint')).resolves.toBeDefined()
  })

  it('unknown, truncated and garbled keys are refused with BROKER_KEY_INVALID', async () => {
    const auth = authenticator()
    for (const key of [generateBrokerKey(), legacyKey.slice(0, -1), `${legacyKey}x`, 'gbk_short', `${legacyKey.slice(0, -1)}!`]) {
      await expectFailure(auth.authenticate(`Bearer ${key}`, 'mint'), 'BROKER_KEY_INVALID', key)
    }
  })

  it('fails closed (503) when the stored keys cannot be loaded, and refuses keys when none are configured', async () => {
    const failing = authenticator({
      brokerKeys: () => {
        throw new Error('AccessDenied')
      },
    })
    const err = await expectFailure(failing.authenticate(`Bearer ${legacyKey}`, 'mint'), 'BROKER_KEYS_UNAVAILABLE')
    expect(err.status).toBe(503)
    const none = authenticator({ brokerKeys: undefined })
    await expectFailure(none.authenticate(`Bearer ${legacyKey}`, 'mint'), 'BROKER_KEY_INVALID')
  })
})

describe('OIDC identities', () => {
  it('builds subject, provider and CI run link for each platform', async () => {
    const auth = authenticator()
    const gh = await auth.authenticate(
      `Bearer ${await issuer.mint('github', { claims: { run_id: '123', run_attempt: '2' } })}`,
      'read',
    )
    expect(gh).toMatchObject({
      kind: 'oidc',
      provider: 'github',
      issuer: issuer.issuers.github,
      subject: 'github:acme/app:ref:refs/heads/main:run:123:attempt:2',
      ciRunUrl: 'https://github.com/acme/app/actions/runs/123/attempts/2',
    })
    expect(gh.claims.repository).toBe('acme/app')
    const gl = await auth.authenticate(
      `Bearer ${await issuer.mint('gitlab', { claims: { pipeline_id: '456', job_id: '789' } })}`,
      'read',
    )
    expect(gl.subject).toBe('gitlab:acme/app:ref:main:pipeline:456:job:789')
    expect(gl.ciRunUrl).toBe('https://gitlab.com/acme/app/-/pipelines/456')
    const cc = await auth.authenticate(`Bearer ${await issuer.mint('circleci')}`, 'read')
    expect(cc.subject).toMatch(/^circleci:github\.com\/acme\/app:ref:refs\/heads\/main:project:[0-9a-f-]{36}$/)
    expect(cc.ciRunUrl).toBeUndefined()
    const bk = await auth.authenticate(`Bearer ${await issuer.mint('buildkite', { claims: { job_id: 'j1' } })}`, 'read')
    expect(bk.subject).toBe('buildkite:acme/app:ref:refs/heads/main:build:42:job:j1')
    expect(bk.ciRunUrl).toBe('https://buildkite.com/acme/app/builds/42')
  })

  it('gives each identity a stable id that runs, attempts, jobs and environments do not change', async () => {
    const auth = authenticator()
    const stable = async (provider: 'github' | 'gitlab' | 'circleci' | 'buildkite', claims: Record<string, unknown>) =>
      (await auth.authenticate(`Bearer ${await issuer.mint(provider, { claims })}`, 'read')).stableId
    expect(await stable('github', { run_id: '1', run_attempt: '1' })).toBe('repository_id:74')
    expect(await stable('github', { run_id: '2', run_attempt: '3', environment: 'production' })).toBe('repository_id:74')
    expect(await stable('gitlab', { job_id: '9', environment: 'x' })).toBe('project_id:20')
    expect(await stable('circleci', {})).toMatch(/^project-id:[0-9a-f-]{36}$/)
    expect(await stable('buildkite', { build_number: 7, job_id: 'j9' })).toBe('pipeline:acme/app')
  })

  it('does not build run links from claims that are not plain slugs and ids', async () => {
    const auth = authenticator()
    const token = await issuer.mint('github', { claims: { repository: 'acme/app/../../evil', run_id: '1' } })
    const identity = await auth.authenticate(`Bearer ${token}`, 'read')
    expect(identity.ciRunUrl).toBeUndefined()
  })

  it('a token is single use for mint; deploy and read do not consume it', async () => {
    const auth = authenticator()
    const token = await issuer.mint('github')
    await auth.authenticate(`Bearer ${token}`, 'deploy')
    await auth.authenticate(`Bearer ${token}`, 'read')
    const first = await auth.authenticate(`Bearer ${token}`, 'mint')
    await expectFailure(auth.authenticate(`Bearer ${token}`, 'mint'), 'OIDC_REPLAYED', token)
    await expect(auth.authenticate(`Bearer ${token}`, 'deploy')).resolves.toMatchObject({ subject: first.subject })
  })

  it('keys replay by issuer + jti, or by issuer, sub, iat and signature bytes when there is no jti', async () => {
    const store = new MemoryReplayStore()
    const auth = authenticator({ replayStore: store })
    const gh = await issuer.mint('github', { claims: { jti: 'fixed-jti' } })
    const identity = await auth.authenticate(`Bearer ${gh}`, 'mint')
    expect(identity.credentialId).toBe(replayKey({ issuer: issuer.issuers.github, claims: { jti: 'fixed-jti' }, signature: new Uint8Array() }))
    // Same jti, different token from the same issuer: still a replay.
    const again = await issuer.mint('github', { claims: { jti: 'fixed-jti', run_id: '9' } })
    await expectFailure(auth.authenticate(`Bearer ${again}`, 'mint'), 'OIDC_REPLAYED')
    // Same jti from another issuer is another credential.
    await auth.authenticate(`Bearer ${await issuer.mint('gitlab', { claims: { jti: 'fixed-jti' } })}`, 'mint')
    const bk = await issuer.mint('buildkite')
    const bkIdentity = await auth.authenticate(`Bearer ${bk}`, 'mint')
    const [, payload, signature] = bk.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub: string; iat: number }
    expect(bkIdentity.credentialId).toBe(
      replayKey({ issuer: issuer.issuers.buildkite, claims, signature: Buffer.from(signature, 'base64url') }),
    )
    await expectFailure(auth.authenticate(`Bearer ${bk}`, 'mint'), 'OIDC_REPLAYED', bk)
    expect(store.size).toBe(3)
  })

  it('fails closed (503) when the replay store errors, for mint only', async () => {
    const broken: ReplayStore = { claim: async () => Promise.reject(new Error('timeout')) }
    const lines: string[] = []
    const auth = authenticator({ replayStore: broken, logger: createLogger({ sink: (l) => lines.push(l) }) })
    const token = await issuer.mint('gitlab')
    const err = await expectFailure(auth.authenticate(`Bearer ${token}`, 'mint'), 'REPLAY_STORE_UNAVAILABLE', token)
    expect(err.status).toBe(503)
    await expect(auth.authenticate(`Bearer ${token}`, 'deploy')).resolves.toBeDefined()
    expect(lines.join('\n')).toContain('replay store unavailable')
    expect(findSecrets(lines.join('\n'))).toEqual([])
  })

  it('OIDC failures surface with their code and no token in the message', async () => {
    const auth = authenticator()
    const wrongAud = await issuer.mint('github', { aud: 'sts.amazonaws.com' })
    await expectFailure(auth.authenticate(`Bearer ${wrongAud}`, 'mint'), 'OIDC_WRONG_AUDIENCE', wrongAud)
    const noOidc = authenticator({ oidc: undefined })
    await expectFailure(noOidc.authenticate(`Bearer ${await issuer.mint('github')}`, 'mint'), 'OIDC_UNKNOWN_ISSUER')
  })
})

describe('releaseMint', () => {
  it('gives a mint claim back once; a held claim still refuses a concurrent duplicate', async () => {
    const store = new MemoryReplayStore()
    const auth = authenticator({ replayStore: store })
    const token = await issuer.mint('github')
    const first = await auth.authenticate(`Bearer ${token}`, 'mint')
    // While the first request holds the claim, a duplicate is a replay.
    await expectFailure(auth.authenticate(`Bearer ${token}`, 'mint'), 'OIDC_REPLAYED', token)
    await auth.releaseMint!(first)
    expect(store.size).toBe(0)
    const retry = await auth.authenticate(`Bearer ${token}`, 'mint')
    expect(retry.credentialId).toBe(first.credentialId)
    // A second release of the first identity must not free the retry's claim.
    await auth.releaseMint!(first)
    expect(store.size).toBe(1)
    await expectFailure(auth.authenticate(`Bearer ${token}`, 'mint'), 'OIDC_REPLAYED', token)
  })

  it('is a no-op for broker keys, other purposes and identities it did not return', async () => {
    const calls: string[] = []
    const memory = new MemoryReplayStore()
    const store: ReplayStore = {
      claim: (key, expiresAt) => memory.claim(key, expiresAt),
      release: async (key) => {
        calls.push(key)
        await memory.release(key)
      },
    }
    const auth = authenticator({ replayStore: store })
    await auth.releaseMint!(await auth.authenticate(`Bearer ${legacyKey}`, 'mint'))
    const token = await issuer.mint('gitlab')
    await auth.releaseMint!(await auth.authenticate(`Bearer ${token}`, 'read'))
    const minted = await auth.authenticate(`Bearer ${token}`, 'mint')
    // A look-alike (e.g. rebuilt from a log line) releases nothing.
    await auth.releaseMint!({ ...minted })
    expect(calls).toEqual([])
    await expectFailure(auth.authenticate(`Bearer ${token}`, 'mint'), 'OIDC_REPLAYED', token)
    await auth.releaseMint!(minted)
    expect(calls).toEqual([minted.credentialId])
  })

  it('reports a store failure as 503 and does nothing without a release-capable store', async () => {
    const failing: ReplayStore = {
      claim: async () => true,
      release: async () => Promise.reject(new Error('timeout')),
    }
    const token = await issuer.mint('buildkite')
    const auth = authenticator({ replayStore: failing })
    const identity = await auth.authenticate(`Bearer ${token}`, 'mint')
    const err = await expectFailure(auth.releaseMint!(identity), 'REPLAY_STORE_UNAVAILABLE', token)
    expect(err.status).toBe(503)
    const claimOnly = authenticator({ replayStore: { claim: async () => true } })
    await expect(claimOnly.releaseMint!(await claimOnly.authenticate(`Bearer ${token}`, 'mint'))).resolves.toBeUndefined()
  })
})
