import { describe, expect, it } from 'vitest'
import { callerTrace, GENERIC_DENIAL, loadPolicy } from '../../../../functions/lib/policy/index.js'
import type { CiProvider } from '../../../../local/oidc/claims.js'
import { ISSUERS_SECTION, keyIdentity, oidcIdentity } from './support.js'

const write = (environments: string[] = [], maxTtl = '1h') => ({
  repos: ['deploy-configs'],
  permission: 'write',
  maxTtl,
  environments,
})

const policy = loadPolicy({
  version: 1,
  issuers: ISSUERS_SECTION,
  rules: [
    {
      name: 'gh-prod',
      match: { issuer: 'github', claims: { repository: 'acme/app', repository_id: '74', ref: 'refs/heads/main', environment: 'production' } },
      grant: { ...write(['production'], '15m'), overrideHolds: true },
    },
    { name: 'gh-main', match: { issuer: 'github', claims: { repository: 'acme/app', repository_id: '74', ref: 'refs/heads/main' } }, grant: write(['staging']) },
    {
      name: 'gh-read',
      match: { issuer: 'github', claims: { repository_owner: 'acme', repository_owner_id: '65' } },
      grant: { repos: ['deploy-configs', 'docs-*'], permission: 'read', maxTtl: '10m' },
    },
    { name: 'gl-main', match: { issuer: 'gitlab', claims: { project_path: 'acme/app', ref_path: 'refs/heads/main', ref_protected: true } }, grant: write(['staging']) },
    {
      name: 'cc-main',
      match: { issuer: 'circleci', claims: { 'oidc.circleci.com/vcs-origin': 'github.com/acme/app', 'oidc.circleci.com/vcs-ref': 'refs/heads/main' } },
      grant: write(['staging']),
    },
    { name: 'bk-main', match: { issuer: 'buildkite', claims: { organization_slug: 'acme', pipeline_slug: 'app', build_branch: 'main', build_number: 42 } }, grant: write(['staging']) },
    { name: 'legacy', match: { brokerKey: 'ci-legacy' }, grant: write([], '1h') },
  ],
})

const mint = { repos: ['deploy-configs'], permission: 'write' as const, ttlSeconds: 900 }

describe('policy decisions per CI provider (real claim shapes)', () => {
  it.each<[CiProvider, Record<string, unknown>, string | undefined, string]>([
    ['github', {}, 'gh-main', 'main of acme/app'],
    ['github', { environment: 'production' }, 'gh-prod', 'production environment'],
    ['github', { ref: 'refs/heads/dev' }, undefined, 'a feature branch may not write'],
    ['github', { repository: 'acme/app-fork' }, undefined, 'a look-alike repository'],
    ['github', { repository: 'ACME/app' }, undefined, 'matching is case-sensitive (fails closed)'],
    ['gitlab', {}, 'gl-main', 'protected main'],
    ['gitlab', { ref_protected: 'false' }, undefined, 'unprotected main'],
    ['gitlab', { project_path: 'fork-owner/app' }, undefined, 'a fork pipeline names the fork'],
    ['circleci', {}, 'cc-main', 'main of github.com/acme/app'],
    ['circleci', { 'oidc.circleci.com/vcs-origin': 'github.com/evil/app' }, undefined, 'a fork'],
    ['circleci', { 'oidc.circleci.com/vcs-origin': undefined }, undefined, 'a custom webhook without vcs-origin'],
    ['buildkite', {}, 'bk-main', 'org acme, pipeline app, main (numeric claim)'],
    ['buildkite', { organization_slug: 'evil' }, undefined, 'another org on the shared issuer'],
  ])('%s %j -> %s (%s)', (provider, claims, rule) => {
    const decision = policy.authorizeMint(oidcIdentity(provider, claims), mint)
    expect(decision.allowed).toBe(rule !== undefined)
    expect(decision.rule).toBe(rule)
    if (!rule) expect(decision.reason).toMatch(/^denied: /)
  })

  it('a token from an issuer the rules do not name matches nothing', () => {
    const identity = { ...oidcIdentity('github'), issuer: 'https://token.actions.githubusercontent.com/acme' }
    const decision = policy.authorizeMint(identity, mint)
    expect(decision.allowed).toBe(false)
    expect(decision.trace[0]?.reason).toMatch(/^issuer is https:\/\/token\.actions\.githubusercontent\.com\/acme, rule wants github/)
  })
})

describe('traces and reasons', () => {
  it('says for each rule tried which condition failed, in words', () => {
    const decision = policy.authorizeMint(oidcIdentity('github', { ref: 'refs/heads/dev' }), mint)
    expect(decision.trace).toEqual([
      { rule: 'gh-prod', matched: false, identified: true, reason: 'claim ref is refs/heads/dev, rule wants refs/heads/main' },
      { rule: 'gh-main', matched: false, identified: true, reason: 'claim ref is refs/heads/dev, rule wants refs/heads/main' },
      { rule: 'gh-read', matched: false, identified: true, reason: 'matches the caller, but its grant allows read, the request wants write' },
      { rule: 'gl-main', matched: false, identified: false, reason: 'issuer is https://token.actions.githubusercontent.com, rule wants gitlab (https://gitlab.com)' },
      { rule: 'cc-main', matched: false, identified: false, reason: expect.stringMatching(/^issuer is .*, rule wants circleci/) },
      { rule: 'bk-main', matched: false, identified: false, reason: expect.stringMatching(/^issuer is .*, rule wants buildkite/) },
      { rule: 'legacy', matched: false, identified: false, reason: 'rule is for broker key ci-legacy; caller used an OIDC token' },
    ])
    // The caller sees only the rules meant for it.
    expect(callerTrace(decision).map((t) => t.rule)).toEqual(['gh-prod', 'gh-main', 'gh-read'])
    expect(decision.reason).toBe(
      'denied: rule gh-read matches this caller, but its grant allows read, the request wants write',
    )
  })

  it('names absent claims and lists alternatives', () => {
    const p = loadPolicy({
      version: 1,
      issuers: ISSUERS_SECTION,
      rules: [{ name: 'r', match: { issuer: 'github', claims: { repository: 'acme/app', repository_id: '74', environment: ['staging', 'production'] } }, grant: write() }],
    })
    const decision = p.authorizeRead(oidcIdentity('github'), 'deploy-configs')
    expect(decision.trace[0]?.reason).toBe('claim environment is absent, rule wants one of staging, production')
    expect(decision.reason).toMatch(/^denied: no rule matches github:acme\/app:ref:refs\/heads\/main:run:\d+:attempt:1 \(rule r: claim environment is absent, rule wants one of staging, production\)$/)
  })

  it('array claims match if any element matches', () => {
    const p = loadPolicy({
      version: 1,
      issuers: ISSUERS_SECTION,
      rules: [
        {
          name: 'ctx',
          match: { issuer: 'circleci', claims: { 'oidc.circleci.com/project-id': '8d1c4a7e-3b2f-4e6d-a915-7c0b2e4f6a83', 'oidc.circleci.com/context-ids': 'ctx-prod' } },
          grant: write(),
        },
      ],
    })
    const ok = oidcIdentity('circleci', { 'oidc.circleci.com/context-ids': ['ctx-dev', 'ctx-prod'] })
    expect(p.authorizeMint(ok, mint).allowed).toBe(true)
    const no = oidcIdentity('circleci', { 'oidc.circleci.com/context-ids': ['ctx-dev'] })
    expect(p.authorizeMint(no, mint).trace[0]?.reason).toBe(
      'claim oidc.circleci.com/context-ids is [ctx-dev], rule wants ctx-prod',
    )
  })

  it('never echoes credential-looking claim values', () => {
    const p = loadPolicy({
      version: 1,
      issuers: ISSUERS_SECTION,
      rules: [{ name: 'r', match: { issuer: 'github', claims: { repository: 'acme/app', repository_id: '74', workflow: 'Deploy' } }, grant: write() }],
    })
    const decision = p.authorizeMint(oidcIdentity('github', { workflow: `gbk_${'A'.repeat(43)}` }), mint)
    expect(decision.trace[0]?.reason).toBe('claim workflow is gbk<redacted>, rule wants Deploy')
  })

  it('an empty policy denies everything and says so', () => {
    const p = loadPolicy({ version: 1, rules: [] })
    expect(p.authorizeMint(keyIdentity('ci-legacy'), mint)).toEqual({
      allowed: false,
      identified: false,
      reason: GENERIC_DENIAL,
      trace: [],
    })
  })
})

describe('authorizeMint', () => {
  it('clamps the TTL to maxTtl and says so', () => {
    const decision = policy.authorizeMint(oidcIdentity('github', { environment: 'production' }), { ...mint, ttlSeconds: 3600 })
    expect(decision).toMatchObject({ allowed: true, rule: 'gh-prod', ttlSeconds: 900, clamped: true })
    expect(decision.reason).toBe('allowed by rule gh-prod; TTL clamped from 1h to 15m')
    expect(decision.grant).toEqual({
      repos: ['deploy-configs'],
      permission: 'write',
      maxTtlSeconds: 900,
      environments: ['production'],
      overrideHolds: true,
      promote: [],
    })
  })

  it('keeps a shorter TTL, and uses maxTtl when none is asked', () => {
    expect(policy.authorizeMint(keyIdentity('ci-legacy'), { ...mint, ttlSeconds: 600 })).toMatchObject({ ttlSeconds: 600, clamped: false })
    expect(policy.authorizeMint(keyIdentity('ci-legacy'), { ...mint, ttlSeconds: 0 })).toMatchObject({ ttlSeconds: 3600, clamped: false })
  })

  it('needs every requested repo in one grant; globs in grant.repos match within the slug', () => {
    const reader = oidcIdentity('github', { ref: 'refs/heads/dev' })
    const read = { repos: ['deploy-configs', 'docs-site'], permission: 'read' as const, ttlSeconds: 60 }
    expect(policy.authorizeMint(reader, read)).toMatchObject({ allowed: true, rule: 'gh-read' })
    const denied = policy.authorizeMint(reader, { ...read, repos: ['deploy-configs', 'secrets'] })
    expect(denied.allowed).toBe(false)
    expect(denied.reason).toBe(
      'denied: rule gh-read matches this caller, but repo secrets is not in its grant (repos: deploy-configs, docs-*)',
    )
  })

  it('a broker key gets only its own rule', () => {
    expect(policy.authorizeMint(keyIdentity('ci-legacy'), mint)).toMatchObject({ allowed: true, rule: 'legacy' })
    const other = policy.authorizeMint(keyIdentity('ci-other'), mint)
    expect(other.allowed).toBe(false)
    // Another key's name is never shown.
    expect(other.reason).toBe(GENERIC_DENIAL)
    expect(callerTrace(other)).toEqual([])
  })

  it('first rule that matches and covers the request wins; grants are not merged', () => {
    // gh-prod matches but only has production; gh-main (next) covers staging.
    const identity = oidcIdentity('github', { environment: 'production' })
    expect(policy.authorizeDeploy(identity, { repo: 'deploy-configs', environment: 'staging' })).toMatchObject({
      allowed: true,
      rule: 'gh-main',
    })
    expect(policy.authorizeMint(identity, mint).rule).toBe('gh-prod')
  })
})

describe('authorizeDeploy and authorizeRead', () => {
  it('deploy needs the environment in the grant, write, and overrideHolds to override', () => {
    const main = oidcIdentity('github')
    expect(policy.authorizeDeploy(main, { repo: 'deploy-configs', environment: 'staging' }).allowed).toBe(true)
    const prod = policy.authorizeDeploy(main, { repo: 'deploy-configs', environment: 'production' })
    expect(prod.allowed).toBe(false)
    expect(prod.reason).toBe(
      'denied: rule gh-main matches this caller, but environment production is not in its grant (environments: staging)',
    )
    const held = policy.authorizeDeploy(main, { repo: 'deploy-configs', environment: 'staging', overrideHold: true })
    expect(held.reason).toMatch(/does not allow overriding holds/)
    const prodJob = oidcIdentity('github', { environment: 'production' })
    expect(policy.authorizeDeploy(prodJob, { repo: 'deploy-configs', environment: 'production', overrideHold: true }).allowed).toBe(true)
    const legacy = policy.authorizeDeploy(keyIdentity('ci-legacy'), { repo: 'deploy-configs', environment: 'staging' })
    expect(legacy.reason).toBe('denied: rule legacy matches this caller, but its grant allows no deploys (no environments)')
    const repo = policy.authorizeDeploy(main, { repo: 'other', environment: 'staging' })
    expect(repo.reason).toMatch(/repo other is not in its grant/)
  })

  it('a read-only grant never deploys', () => {
    const reader = oidcIdentity('github', { ref: 'refs/heads/dev' })
    const decision = policy.authorizeDeploy(reader, { repo: 'deploy-configs', environment: 'staging' })
    expect(decision.allowed).toBe(false)
    expect(decision.trace.find((t) => t.rule === 'gh-read')?.reason).toBe(
      'matches the caller, but its grant is read-only; deploying needs write',
    )
  })

  it('read needs the repo in the grant, whatever the permission', () => {
    const reader = oidcIdentity('github', { ref: 'refs/heads/dev' })
    expect(policy.authorizeRead(reader, 'docs-api')).toMatchObject({ allowed: true, rule: 'gh-read' })
    expect(policy.authorizeRead(reader, 'secrets').allowed).toBe(false)
    expect(policy.authorizeRead(keyIdentity('ci-legacy'), 'deploy-configs').allowed).toBe(true)
  })
})
