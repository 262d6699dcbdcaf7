/**
 * Abuse limits. The findings: the per-caller limit was keyed on the full
 * subject, so a new run_id, run_attempt or environment bought a fresh budget;
 * /v1/status had no limit (and accepts a token already used to mint); there
 * was no limit before authentication; and forged tokens naming a trusted
 * issuer whose discovery or JWKS failed cost one outbound fetch (up to the
 * timeout) each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenBucketLimiter } from '../../functions/lib/limits/rate-limiter.js'
import { loadPolicy } from '../../functions/lib/policy/index.js'
import { startLocalOidcIssuer, type CiProvider, type LocalOidcIssuer } from '../../local/oidc/index.js'
import { AUDIENCE, countingServer, REPO, startHarness, type Harness } from './harness.js'

/** Burst `capacity`, then (practically) nothing for the rest of the test. */
const tight = (capacity: number) => createTokenBucketLimiter({ capacity, refillPerMinute: 0.01 })

function expectLimited(r: { status: number; json?: Record<string, any>; headers: Headers }) {
  expect(r.status).toBe(429)
  expect(r.json).toMatchObject({ code: 'RATE_LIMITED' })
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
}

describe('per-caller limits are keyed on the stable identity', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ limits: { token: tight(3), deploy: tight(2), status: tight(2) } })
  })
  afterAll(async () => {
    await h?.close()
  })

  /** Claims that differ per run, attempt, job or environment, and must not buy a new budget. */
  const varying: Record<CiProvider, (i: number) => Record<string, unknown>> = {
    github: (i) => ({ run_id: String(5000 + i), run_attempt: String(i + 1), environment: ['staging', 'production', 'qa', 'dev'][i] }),
    gitlab: (i) => ({ pipeline_id: String(700 + i), job_id: String(900 + i), environment: `env-${i}` }),
    circleci: (i) => ({ 'oidc.circleci.com/context-ids': [`ctx-${i}`] }),
    buildkite: (i) => ({ build_number: 100 + i, job_id: `job-${i}`, step_key: `step-${i}` }),
  }

  it.each(Object.keys(varying) as CiProvider[])('%s: a new run, attempt, job or environment shares the budget (4th mint is 429)', async (provider) => {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const jwt = await h.oidc.mint(provider, { claims: varying[provider](i) })
      statuses.push((await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })).status)
    }
    expect(statuses).toEqual([201, 201, 201])
    const fourth = await h.call('POST', '/v1/tokens', { auth: await h.oidc.mint(provider, { claims: varying[provider](3) }), body: { repo: REPO } })
    expectLimited(fourth)
  })

  it('another repository has its own budget (and is then judged by the policy)', async () => {
    const jwt = await h.oidc.mint('github', { claims: { repository_id: '75' } })
    const r = await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
  })

  it('deploys are limited the same way', async () => {
    const deploy = async (i: number) =>
      h.call('POST', '/v1/deploys', {
        auth: await h.oidc.mint('gitlab', { claims: { job_id: String(10 + i) } }),
        body: { repo: REPO, environment: 'staging', image: `ghcr.io/acme/app:${i}.0.0`, dryRun: true },
      })
    expect((await deploy(0)).status).toBe(200)
    expect((await deploy(1)).status).toBe(200)
    expectLimited(await deploy(2))
  })

  it('/v1/status and history are limited, even with a token already used to mint', async () => {
    // Same project path, another project id: a budget of its own.
    const jwt = await h.oidc.mint('gitlab', { claims: { project_id: '21' } })
    expect((await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })).status).toBe(201)
    expect((await h.call('GET', `/v1/status?repo=${REPO}`, { auth: jwt })).status).toBe(200)
    expect((await h.call('GET', `/v1/status/staging/history?repo=${REPO}`, { auth: jwt })).status).toBe(200)
    expectLimited(await h.call('GET', `/v1/status?repo=${REPO}`, { auth: jwt }))
    const anotherJob = await h.oidc.mint('gitlab', { claims: { project_id: '21', job_id: '4242' } })
    expectLimited(await h.call('GET', `/v1/status/staging/history?repo=${REPO}`, { auth: anotherJob }))
  })
})

describe('per-IP limit before authentication, on every route', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ limits: { ip: tight(6) } })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('bad credentials are answered 401 until the address has spent its budget, then 429 on token, deploy, status and the dashboard', async () => {
    const junk = 'eyJhbGciOiJub25lIn0.e30.'
    const requests = [
      () => h.call('POST', '/ci/token', { auth: junk, body: { repo: REPO } }),
      () => h.call('POST', '/v1/tokens', { auth: junk, body: { repo: REPO } }),
      () => h.call('POST', '/v1/deploys', { auth: junk, body: { repo: REPO, environment: 'staging', image: 'app:1' } }),
      () => h.call('GET', '/v1/status', { auth: junk }),
      () => h.call('GET', '/?key=wrong-viewer-credential'),
      () => h.call('DELETE', '/v1/tokens/tok_1', { auth: junk }),
    ]
    for (const send of requests) expect((await send()).status).toBe(401)
    for (const send of requests) {
      const r = await send()
      expect(r.status).toBe(429)
      expect(Number(r.headers.get('retry-after')), r.text.slice(0, 200)).toBeGreaterThan(0)
      if (r.json) expect(r.json).toMatchObject({ code: 'RATE_LIMITED' })
    }
    // Health checks are not limited (they touch nothing).
    expect((await h.call('GET', '/healthz')).status).toBe(200)
  })
})

describe('a failing trusted issuer costs at most one fetch per backoff period', () => {
  let attacker: LocalOidcIssuer
  beforeAll(async () => {
    attacker = await startLocalOidcIssuer({ audience: AUDIENCE })
  })
  afterAll(async () => {
    await attacker?.close()
  })

  /**
   * Sends `forged` tokens naming a trusted issuer served by `answer`; each must be
   * 503 OIDC_JWKS_UNAVAILABLE, and the issuer must have been asked `fetches` times in all.
   */
  async function forgedAgainst(answer: (path: string, base: string) => { status: number; body: string } | undefined, forged: number, fetches: number) {
    let base = ''
    const issuer = await countingServer((path) => answer(path, base))
    base = issuer.url
    const h = await startHarness({
      jwks: { timeoutMs: 300, failureBackoffMs: 60_000 },
      policy: () =>
        loadPolicy({
          version: 1,
          issuers: { broken: { preset: 'custom', url: issuer.url } },
          rules: [{ name: 'broken', match: { issuer: 'broken', claims: { sub: 'job:1' } }, grant: { repos: [REPO], permission: 'read', maxTtl: '5m' } }],
        }),
    })
    try {
      for (let i = 0; i < forged; i++) {
        const jwt = await attacker.mint('github', { claims: { iss: issuer.url, sub: 'job:1' } })
        const r = await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })
        expect(r.status).toBe(503)
        expect(r.json).toMatchObject({ code: 'OIDC_JWKS_UNAVAILABLE' })
      }
      expect(issuer.requests).toBe(fetches)
    } finally {
      await h.close()
      await issuer.close()
    }
  }

  it('discovery answering 500: six forged tokens, one fetch, all 503', async () => {
    await forgedAgainst(() => ({ status: 500, body: '{}' }), 6, 1)
  })

  it('discovery hanging: only the first request waits for the timeout; one fetch in all', async () => {
    await forgedAgainst(() => undefined, 4, 1)
  })

  it('JWKS answering 500 after a good discovery: one discovery and one JWKS fetch, all 503', async () => {
    await forgedAgainst(
      (path, base) =>
        path.endsWith('/openid-configuration')
          ? { status: 200, body: JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }) }
          : { status: 500, body: '{}' },
      5,
      2,
    )
  })
})
