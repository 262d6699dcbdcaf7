/**
 * The policy compiled at build time (compiled.ts): what the bundle carries
 * decides exactly as the document it came from, survives JSON, is refused
 * without its marker or with another format version, and `issuerUrls`
 * applied at load is checked as compiling checks it. A policy file carrying
 * the marker still goes through full validation.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { IssuerConfig } from '../../../../functions/lib/auth/presets.js'
import type { CallerIdentity } from '../../../../functions/lib/auth/types.js'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { COMPILED_POLICY_FORMAT, COMPILED_POLICY_VERSION, policyFromBuild, toCompiledPolicyData } from '../../../../functions/lib/policy/compiled.js'
import { loadPolicy, type LoadedPolicy } from '../../../../functions/lib/policy/index.js'
import { compilePolicy, type LoadPolicyOptions } from '../../../../functions/lib/policy/load.js'
import { parsePolicyText } from '../../../../functions/lib/policy/load-file.js'
import type { CiProvider } from '../../../../local/oidc/claims.js'
import { ISSUERS_SECTION, keyIdentity, oidcIdentity } from './support.js'

/** What the yaml build plugin writes into a bundle, read back as the bundle reads it. */
const built = (document: unknown) => JSON.parse(JSON.stringify(toCompiledPolicyData(compilePolicy(document)))) as unknown
const fileDocument = (path: string) => parsePolicyText(readFileSync(path, 'utf8'), path)

/** Identities from each trusted issuer (claims varied around the acme/app defaults) and broker keys. */
function callers(issuers: IssuerConfig[]): CallerIdentity[] {
  const out: CallerIdentity[] = [keyIdentity('ci-legacy'), keyIdentity('local'), keyIdentity('nobody')]
  const variations: Array<Record<string, unknown>> = [
    {},
    { environment: 'production' },
    { environment: 'staging' },
    { ref: 'refs/heads/feature' },
    { repository: 'acme/other', repository_id: '75' },
    { repository: 'evil/app', repository_owner: 'evil', repository_owner_id: '66' },
    { project_path: 'acme/other' },
    { organization_slug: 'evil' },
  ]
  for (const issuer of issuers) {
    if (issuer.preset === 'custom') continue
    for (const v of variations) {
      const id = oidcIdentity(issuer.preset as CiProvider, v)
      out.push({ ...id, issuer: issuer.url, claims: { ...id.claims, iss: issuer.url } })
    }
  }
  return out
}

/** Every decision of `policy` for the callers over a spread of requests. */
function decisions(policy: LoadedPolicy, ids: CallerIdentity[]): unknown[] {
  const out: unknown[] = []
  for (const id of ids) {
    for (const repos of [['deploy-configs'], ['other'], ['deploy-configs', 'other'], ['app-web']]) {
      for (const permission of ['read', 'write'] as const) {
        for (const ttlSeconds of [0, 60, 7200]) out.push(policy.authorizeMint(id, { repos, permission, ttlSeconds }))
      }
    }
    for (const environment of ['staging', 'production', 'dev']) {
      for (const overrideHold of [false, true]) out.push(policy.authorizeDeploy(id, { repo: 'deploy-configs', environment, overrideHold }))
    }
    for (const repo of ['deploy-configs', 'other']) out.push(policy.authorizeRead(id, repo))
    out.push(policy.authorizePromote(id, { repo: 'deploy-configs', from: 'staging', to: 'production' }))
  }
  return out
}

function sameAsDocument(document: unknown, options: LoadPolicyOptions = {}) {
  const fromDocument = loadPolicy(document, options)
  const fromBuild = policyFromBuild(built(document), options)
  expect(fromBuild.issuers).toEqual(fromDocument.issuers)
  expect(fromBuild.ruleNames).toEqual(fromDocument.ruleNames)
  expect(fromBuild.brokerKeyNames).toEqual(fromDocument.brokerKeyNames)
  const ids = callers(fromDocument.issuers)
  const expected = decisions(fromDocument, ids)
  expect(expected.some((d) => (d as { allowed: boolean }).allowed)).toBe(true)
  expect(decisions(fromBuild, ids)).toEqual(expected)
}

/** Globs, lists, every preset, promotions, holds: what the compiled form must carry. */
const RICH = {
  version: 1,
  issuers: ISSUERS_SECTION,
  rules: [
    {
      name: 'gh-prod',
      match: { issuer: 'github', claims: { repository: 'acme/*', repository_owner_id: '65', ref: ['refs/heads/main', 'refs/tags/v*'], environment: 'production' } },
      grant: { repos: ['deploy-configs', 'app-*'], permission: 'write', maxTtl: '15m', environments: ['production', 'prod-*'], overrideHolds: true },
    },
    {
      name: 'gh-main',
      match: { issuer: 'github', claims: { repository_id: '74', ref: 'refs/heads/**' } },
      grant: {
        repos: ['deploy-configs'],
        permission: 'write',
        maxTtl: '1h',
        environments: ['staging'],
        promote: [{ from: 'staging', to: 'production', minSoak: '30m', requireChecks: ['smoke'] }],
      },
    },
    { name: 'gl', match: { issuer: 'gitlab', claims: { project_id: '42', project_path: 'acme/app' } }, grant: { repos: ['deploy-configs'], permission: 'read', maxTtl: '10m' } },
    { name: 'cc', match: { issuer: 'circleci', claims: { 'oidc.circleci.com/project-id': 'p-1' } }, grant: { repos: ['deploy-configs'], permission: 'read', maxTtl: '10m' } },
    { name: 'bk', match: { issuer: 'buildkite', claims: { organization_slug: 'acme' } }, grant: { repos: ['deploy-configs'], permission: 'read', maxTtl: '10m' } },
    { name: 'legacy', match: { brokerKey: 'ci-legacy' }, grant: { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' } },
  ],
}

describe('a policy compiled at build time', () => {
  it('decides exactly as its document: config/policy.yaml', () => sameAsDocument(fileDocument('config/policy.yaml')))

  it('decides exactly as its document: local/policy.yaml, as is and with issuerUrls applied at load', () => {
    const document = fileDocument('local/policy.yaml')
    sameAsDocument(document)
    sameAsDocument(document, { issuerUrls: { 'local-github': 'http://127.0.0.1:45001/github', 'local-gitlab': 'http://localhost:45002' } })
  })

  it('decides exactly as its document: globs, lists, every preset, promotions and holds', () => sameAsDocument(RICH))

  it('checks only the marker: without it, or with another format version, it refuses', () => {
    const document = fileDocument('config/policy.yaml')
    expect(() => policyFromBuild(document)).toThrow(ConfigError)
    expect(() => policyFromBuild(document)).toThrow(/not a compiled policy/)
    expect(() => policyFromBuild(undefined)).toThrow(/not a compiled policy/)
    const data = built(document) as { version: number; format: string }
    expect(data.format).toBe(COMPILED_POLICY_FORMAT)
    expect(() => policyFromBuild({ ...data, version: COMPILED_POLICY_VERSION + 1 })).toThrow(/rebuild the bundle/)
  })

  it('checks issuerUrls as compiling does, with the same words', () => {
    const document = fileDocument('local/policy.yaml')
    const data = built(document)
    for (const issuerUrls of <Array<Record<string, string>>>[
      { nowhere: 'http://127.0.0.1:1/x' },
      { 'local-github': 'http://example.com/github' },
      { 'local-github': 'ftp://127.0.0.1/github' },
      { 'local-circleci': 'http://127.0.0.1:1/circleci' },
      { 'local-github': 'http://127.0.0.1/gitlab' },
      { 'local-github': '' },
    ]) {
      let expected: unknown
      try {
        loadPolicy(document, { issuerUrls })
      } catch (err) {
        expected = err
      }
      expect(expected, JSON.stringify(issuerUrls)).toBeInstanceOf(ConfigError)
      expect(() => policyFromBuild(data, { issuerUrls }), JSON.stringify(issuerUrls)).toThrow((expected as Error).message)
    }
  })

  it('a document carrying the marker is still validated in full by loadPolicy (and refused)', () => {
    expect(() => loadPolicy(built(fileDocument('config/policy.yaml')))).toThrow(ConfigError)
    expect(() => loadPolicy(built(fileDocument('config/policy.yaml')))).toThrow(/unknown field/)
  })
})
