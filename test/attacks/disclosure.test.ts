/**
 * What the policy tells callers. The finding: any identity of a shared issuer
 * (any GitHub user) learned every rule name, required claim values, issuer
 * URLs (a CircleCI org id) and broker-key names from `?dryRun=true` and the
 * 403 detail. Now a caller no rule is meant for gets one generic sentence;
 * a caller some rule is meant for sees only those rules; operators get the
 * full trace in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GENERIC_DENIAL } from '../../functions/lib/policy/index.js'
import { LOCAL_CIRCLECI_ORG_ID } from '../../local/oidc/index.js'
import { KEY_NAME, REPO, startHarness, type Harness } from './harness.js'

let h: Harness

beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

/** Everything about local/policy.yaml a stranger must not learn. */
const POLICY_SECRETS = [
  'local-key',
  'github-acme-app-main',
  'gitlab-acme-app-main',
  'circleci-acme-app-main',
  'buildkite-acme-app-main',
  'refs/heads/main',
  'acme/app',
  LOCAL_CIRCLECI_ORG_ID,
  `broker key ${KEY_NAME}`,
  'staging',
  'production',
]

/** A GitHub job of another owner: same (shared) issuer, no rule meant for it. */
const stranger = () =>
  h.oidc.mint('github', {
    claims: { repository: 'evil/app', repository_id: '999', repository_owner: 'evil', repository_owner_id: '998' },
  })

function expectNothingDisclosed(text: string) {
  for (const secret of POLICY_SECRETS) expect(text.includes(secret), `discloses ${secret}`).toBe(false)
}

describe('callers no rule is meant for learn nothing about the policy', () => {
  it('mint: 403 FORBIDDEN with the generic denial', async () => {
    const r = await h.call('POST', '/v1/tokens', { auth: await stranger(), body: { repo: REPO } })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN', detail: GENERIC_DENIAL })
    expectNothingDisclosed(r.text)
  })

  it('dry run: the same sentence, no trace, no grant, no rule', async () => {
    const r = await h.call('POST', '/v1/tokens?dryRun=true', { auth: await stranger(), body: { repo: REPO } })
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ dryRun: true, allowed: false, reason: GENERIC_DENIAL, request: expect.any(Object) })
    expectNothingDisclosed(r.text)
  })

  it('the audit line keeps the full trace for operators', () => {
    const audit = h.audits().at(-1)!
    expect(audit).toMatchObject({ event: 'token.explain', wouldAllow: false })
    expect(audit.trace.map((t: { rule: string }) => t.rule)).toEqual([
      'local-key',
      'github-acme-app-main',
      'gitlab-acme-app-main',
      'circleci-acme-app-main',
      'buildkite-acme-app-main',
    ])
  })

  it('deploy, hold and status: the same generic 403', async () => {
    const jwt = await stranger()
    const answers = [
      await h.call('POST', '/v1/deploys', { auth: jwt, body: { repo: REPO, environment: 'staging', image: 'app:1' } }),
      await h.call('POST', '/v1/deploys/hold', { auth: jwt, body: { repo: REPO, environment: 'production', reason: 'x' } }),
      await h.call('GET', `/v1/status?repo=${REPO}`, { auth: jwt }),
      await h.call('GET', `/v1/status/staging/history?repo=${REPO}`, { auth: jwt }),
    ]
    for (const r of answers) {
      expect(r.status).toBe(403)
      expect(r.json).toMatchObject({ code: 'FORBIDDEN', detail: GENERIC_DENIAL })
      expectNothingDisclosed(r.text)
    }
  })

  it('a token from another CI flavour learns nothing about the GitHub or broker-key rules', async () => {
    const jwt = await h.oidc.mint('buildkite', { claims: { organization_slug: 'evil' } })
    const r = await h.call('POST', '/v1/tokens?dryRun=true', { auth: jwt, body: { repo: REPO } })
    expect(r.json).toMatchObject({ allowed: false, reason: GENERIC_DENIAL })
    expectNothingDisclosed(r.text)
  })
})

describe('callers a rule is meant for see only those rules', () => {
  it('acme/app on another branch: the trace names its own rule and what it needs, nothing else', async () => {
    const jwt = await h.oidc.mint('github', { claims: { ref: 'refs/heads/dev' } })
    const r = await h.call('POST', '/v1/tokens?dryRun=true', { auth: jwt, body: { repo: REPO } })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({
      allowed: false,
      trace: [{ rule: 'github-acme-app-main', matched: false, reason: 'claim ref is refs/heads/dev, rule wants refs/heads/main' }],
    })
    for (const other of ['local-key', 'gitlab-acme-app-main', 'circleci-acme-app-main', LOCAL_CIRCLECI_ORG_ID, `broker key ${KEY_NAME}`]) {
      expect(r.text.includes(other), other).toBe(false)
    }
    const denied = await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })
    expect(denied.status).toBe(403)
    expect(denied.json!.detail).toMatch(
      /^denied: no rule matches github:acme\/app:ref:refs\/heads\/dev:run:\d+:attempt:1 \(rule github-acme-app-main: claim ref is refs\/heads\/dev, rule wants refs\/heads\/main\)$/,
    )
  })

  it('an unknown broker key learns no key name: 401 BROKER_KEY_INVALID', async () => {
    const r = await h.call('POST', '/v1/tokens?dryRun=true', { auth: `gbk_${'A'.repeat(43)}`, body: { repo: REPO } })
    expect(r.status).toBe(401)
    expect(r.json).toMatchObject({ code: 'BROKER_KEY_INVALID' })
    expect(r.text.includes(KEY_NAME + ' ')).toBe(false)
  })

  it('no secret in any log line', () => {
    h.expectNoSecretsInLogs()
  })
})
