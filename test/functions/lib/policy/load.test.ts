import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { loadPolicy } from '../../../../functions/lib/policy/index.js'
import { ISSUERS_SECTION } from './support.js'

const grant = { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' }

function policyWith(rule: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { version: 1, issuers: ISSUERS_SECTION, rules: [{ name: 'r1', grant, ...rule }], ...extra }
}

function loadError(document: unknown, options = {}): string {
  try {
    loadPolicy(document, options)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected the policy to be rejected')
}

describe('loadPolicy accepts', () => {
  it('a policy for every preset and a broker key, exposing issuers and names', () => {
    const policy = loadPolicy({
      version: 1,
      issuers: { ...ISSUERS_SECTION, mine: { preset: 'custom', url: 'https://id.example.com', identityClaims: ['sub', 'team'] } },
      rules: [
        { name: 'gh', match: { issuer: 'github', claims: { repository: 'acme/*', repository_owner_id: '65', ref: 'refs/heads/main' } }, grant },
        { name: 'gh-id', match: { issuer: 'github', claims: { repository_owner_id: 65 } }, grant },
        { name: 'gh-sub', match: { issuer: 'github', claims: { repository_owner_id: '65', sub: 'repo:acme/*:ref:refs/heads/main' } }, grant },
        { name: 'gl', match: { issuer: 'gitlab', claims: { project_path: ['acme/app', 'acme/tools/*'] } }, grant },
        { name: 'cc', match: { issuer: 'circleci', claims: { 'oidc.circleci.com/vcs-origin': 'github.com/acme/*' } }, grant },
        { name: 'bk', match: { issuer: 'buildkite', claims: { organization_slug: 'acme', pipeline_slug: 'app' } }, grant },
        { name: 'custom', match: { issuer: 'mine', claims: { team: 'platform' } }, grant },
        { name: 'key', match: { brokerKey: 'ci-legacy' }, grant: { ...grant, environments: ['staging'], overrideHolds: true } },
      ],
    })
    expect(policy.ruleNames).toEqual(['gh', 'gh-id', 'gh-sub', 'gl', 'cc', 'bk', 'custom', 'key'])
    expect(policy.brokerKeyNames).toEqual(['ci-legacy'])
    expect(policy.issuers.find((i) => i.name === 'github')?.url).toBe('https://token.actions.githubusercontent.com')
    expect(policy.issuers.find((i) => i.name === 'buildkite')?.url).toBe('https://agent.buildkite.com')
  })

  it('issuer URL overrides (npm start passes the local issuer URLs)', () => {
    const policy = loadPolicy(
      { version: 1, issuers: { 'local-github': { preset: 'github', url: 'http://127.0.0.1/github' } }, rules: [] },
      { issuerUrls: { 'local-github': 'http://127.0.0.1:5555/github' } },
    )
    expect(policy.issuers[0]?.url).toBe('http://127.0.0.1:5555/github')
    expect(loadError({ version: 1, rules: [] }, { issuerUrls: { nope: 'http://127.0.0.1:1/x' } })).toMatch(
      /issuerUrls names issuer "nope"/,
    )
  })
})

describe('loadPolicy rejects policies that could fail open, naming rule and field', () => {
  it.each([
    ['a GitHub rule that pins nobody', { match: { issuer: 'github', claims: { ref: 'refs/heads/main' } } },
      /rule "r1" \(rules\[0\]\) match\.claims: a github rule must pin the caller with one of: repository, repository_id/],
    ['a GitHub rule without claims', { match: { issuer: 'github' } }, /a github rule must pin the caller/],
    ['a repository glob that does not pin the owner', { match: { issuer: 'github', claims: { repository: '*/app' } } },
      /match\.claims\.repository: "\*\/app" does not pin the owner/],
    ['a wildcard owner', { match: { issuer: 'github', claims: { repository_owner: 'acme*' } } },
      /match\.claims\.repository_owner: "acme\*" does not pin an exact owner/],
    ['an alternative that does not pin', { match: { issuer: 'github', claims: { repository: ['acme/app', 'ac*/app'] } } },
      /"ac\*\/app" does not pin/],
    ['a sub glob that does not pin the owner', { match: { issuer: 'github', claims: { sub: 'repo:*' } } },
      /match\.claims\.sub: "repo:\*" does not pin/],
    ['a Buildkite rule without organization', { match: { issuer: 'buildkite', claims: { pipeline_slug: 'app' } } },
      /a buildkite rule must pin the caller with one of: organization_slug, organization_id \(the Buildkite issuer is shared/],
    ['a Buildkite rule pinning only sub', { match: { issuer: 'buildkite', claims: { sub: 'organization:acme:pipeline:app:ref:refs/heads/main:commit:x:step:y' } } },
      /a buildkite rule must pin/],
    ['a GitLab rule without project/namespace', { match: { issuer: 'gitlab', claims: { ref: 'main' } } },
      /a gitlab rule must pin the caller with one of: project_path, project_id, namespace_path/],
    ['a CircleCI rule without project', { match: { issuer: 'circleci', claims: { 'oidc.circleci.com/vcs-ref': 'refs/heads/main' } } },
      /a circleci rule must pin/],
    ['a bare * pattern', { match: { issuer: 'github', claims: { repository: 'acme/app', ref: '*' } } },
      /match\.claims\.ref: pattern "\*" matches almost anything/],
    ['an empty pattern', { match: { issuer: 'github', claims: { repository: 'acme/app', ref: '' } } },
      /match\.claims\.ref: empty pattern/],
    ['an empty list', { match: { issuer: 'github', claims: { repository: 'acme/app', ref: [] } } },
      /match\.claims\.ref: empty list of patterns/],
    ['a mid-segment **', { match: { issuer: 'github', claims: { repository: 'acme/app', ref: 'refs/heads/ma**' } } },
      /match\.claims\.ref: "\*\*" must be a whole path segment/],
    ['a reserved claim', { match: { issuer: 'github', claims: { repository: 'acme/app', aud: 'x' } } },
      /match\.claims\.aud: the broker verifies "aud" itself/],
    ['an unknown issuer', { match: { issuer: 'jenkins', claims: { sub: 'x' } } },
      /match\.issuer: unknown issuer "jenkins" \(defined: github, gitlab, circleci, buildkite\)/],
    ['both issuer and brokerKey', { match: { issuer: 'github', brokerKey: 'k' } }, /set exactly one of issuer or brokerKey/],
    ['neither issuer nor brokerKey', { match: {} }, /set exactly one of issuer or brokerKey/],
    ['claims on a broker key rule', { match: { brokerKey: 'k', claims: { keyName: 'k' } } }, /broker key rules cannot match claims/],
    ['maxTtl 0', { match: { brokerKey: 'k' }, grant: { ...grant, maxTtl: '0s' } }, /grant\.maxTtl: must be more than zero/],
    ['maxTtl over 24h', { match: { brokerKey: 'k' }, grant: { ...grant, maxTtl: '25h' } }, /grant\.maxTtl: at most 24h/],
    ['maxTtl garbage', { match: { brokerKey: 'k' }, grant: { ...grant, maxTtl: 'forever' } }, /grant\.maxTtl: not a duration/],
    ['a bare * repo', { match: { brokerKey: 'k' }, grant: { ...grant, repos: ['*'] } }, /grant\.repos\[0\]: pattern "\*" matches almost anything/],
    ['no repos', { match: { brokerKey: 'k' }, grant: { ...grant, repos: [] } }, /grant\.repos: list at least one repo/],
    ['a path-like repo', { match: { brokerKey: 'k' }, grant: { ...grant, repos: ['a/b'] } }, /grant\.repos\[0\]: repo slugs are/],
    ['environments with read', { match: { brokerKey: 'k' }, grant: { ...grant, permission: 'read', environments: ['prod'] } },
      /grant\.environments: deploying needs permission write/],
    ['overrideHolds without environments', { match: { brokerKey: 'k' }, grant: { ...grant, overrideHolds: true } },
      /grant\.overrideHolds: needs environments/],
    ['an unknown grant field', { match: { brokerKey: 'k' }, grant: { ...grant, admin: true } },
      /rule "r1" \(rules\[0\]\) grant\.admin: unknown field "admin"/],
    ['an unknown match field', { match: { brokerKey: 'k', subject: 'x' } }, /match\.subject: unknown field "subject"/],
    ['a bad permission', { match: { brokerKey: 'k' }, grant: { ...grant, permission: 'admin' } }, /grant\.permission: Invalid type/],
    ['a missing grant', { match: { brokerKey: 'k' }, grant: undefined }, /rule "r1" \(rules\[0\]\): missing required field "grant"/],
  ])('%s', (_what, rule, message) => {
    expect(loadError(policyWith(rule))).toMatch(message)
  })

  it.each([
    ['a wrong version', { version: 2, rules: [] }, /version: must be 1/],
    ['a missing rules list', { version: 1 }, /document: missing required field "rules"/],
    ['an unknown top-level field', { version: 1, rules: [], default: 'allow' }, /default: unknown field "default"/],
    ['duplicate rule names', { version: 1, rules: [{ name: 'a', match: { brokerKey: 'k' }, grant }, { name: 'a', match: { brokerKey: 'j' }, grant }] },
      /rule "a" \(rules\[1\]\) name: duplicate rule name/],
    ['a plain-http issuer', { version: 1, issuers: { x: { preset: 'custom', url: 'http://id.example.com' } }, rules: [] },
      /issuers\.x\.url: must be https/],
    ['a CircleCI issuer without org', { version: 1, issuers: { c: { preset: 'circleci', url: 'https://oidc.circleci.com' } }, rules: [] },
      /issuers\.c\.url: CircleCI issuers are per organization/],
    ['a custom issuer without url', { version: 1, issuers: { x: { preset: 'custom' } }, rules: [] },
      /issuers\.x\.url: preset custom has no default issuer URL/],
    ['two names for one issuer', { version: 1, issuers: { a: { preset: 'github' }, b: { preset: 'github' } }, rules: [] },
      /issuers\.b\.url: same issuer URL as issuers\.a/],
    ['identityClaims on a preset', { version: 1, issuers: { a: { preset: 'github', identityClaims: ['x'] } }, rules: [] },
      /only custom issuers set identityClaims/],
    ['a plain-http jwksUri', { version: 1, issuers: { a: { preset: 'github', jwksUri: 'http://example.com/jwks' } }, rules: [] },
      /issuers\.a\.jwksUri: must be https/],
    ['not an object', 'rules: []', /document: Invalid type/],
  ])('%s', (_what, document, message) => {
    expect(loadError(document)).toMatch(message)
  })

  it('a custom issuer rule must pin its identity claims exactly', () => {
    const issuers = { mine: { preset: 'custom', url: 'https://id.example.com' } }
    expect(loadError({ version: 1, issuers, rules: [{ name: 'c', match: { issuer: 'mine', claims: { sub: 'team:*' } }, grant }] })).toMatch(
      /match\.claims\.sub: "team:\*" does not pin an exact value/,
    )
    expect(() =>
      loadPolicy({ version: 1, issuers, rules: [{ name: 'c', match: { issuer: 'mine', claims: { sub: 'team:platform' } }, grant }] }),
    ).not.toThrow()
  })
})
