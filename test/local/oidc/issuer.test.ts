import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CI_PROVIDERS,
  LOCAL_CIRCLECI_ORG_ID,
  startLocalOidcIssuer,
  type LocalOidcIssuer,
} from '../../../local/oidc/index.js'

let issuer: LocalOidcIssuer

beforeAll(async () => {
  issuer = await startLocalOidcIssuer({ audience: 'https://broker.test' })
})
afterAll(async () => {
  await issuer.close()
})

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

describe('local OIDC issuer', () => {
  it('listens on 127.0.0.1 and serves one issuer per CI flavour', () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(issuer.issuers.github).toBe(`${issuer.issuer}/github`)
    expect(issuer.issuers.circleci).toBe(`${issuer.issuer}/circleci/org/${LOCAL_CIRCLECI_ORG_ID}`)
    expect(issuer.policyIssuerUrls['local-buildkite']).toBe(issuer.issuers.buildkite)
  })

  it.each(CI_PROVIDERS)('serves discovery naming the %s issuer and a JWKS with RS256 and ES256 keys', async (p) => {
    const doc = await getJson(`${issuer.issuers[p]}/.well-known/openid-configuration`)
    expect(doc.issuer).toBe(issuer.issuers[p])
    const jwks = await getJson(String(doc.jwks_uri))
    const keys = jwks.keys as Array<Record<string, unknown>>
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256'])
    for (const key of keys) {
      expect(typeof key.kid).toBe('string')
      expect(key.d).toBeUndefined() // public keys only
    }
  })

  it('answers 404 for unknown paths', async () => {
    const response = await fetch(`${issuer.issuer}/nope/.well-known/jwks`)
    expect(response.status).toBe(404)
  })

  it('mints GitHub Actions shaped tokens (jti, nbf = iat - 600, exp = iat + 300, sub by context)', async () => {
    const token = await issuer.mint('github')
    const header = decodeProtectedHeader(token)
    expect(header.alg).toBe('RS256')
    expect(header.kid).toBe(issuer.jwks().keys.find((k) => k.alg === 'RS256')?.kid)
    const c = decodeJwt(token) as Record<string, unknown>
    expect(c.iss).toBe(issuer.issuers.github)
    expect(c.aud).toBe('https://broker.test')
    expect(c.sub).toBe('repo:acme/app:ref:refs/heads/main')
    expect(c).toMatchObject({ repository: 'acme/app', repository_owner: 'acme', ref_type: 'branch' })
    expect(c.exp).toBe((c.iat as number) + 300)
    expect(c.nbf).toBe((c.iat as number) - 600)
    expect(typeof c.jti).toBe('string')
    const env = decodeJwt(await issuer.mint('github', { claims: { environment: 'production' } }))
    expect(env.sub).toBe('repo:acme/app:environment:production')
  })

  it('mints GitLab shaped tokens (bare ref, ref_path, numeric runner_id)', async () => {
    const c = decodeJwt(await issuer.mint('gitlab')) as Record<string, unknown>
    expect(c.sub).toBe('project_path:acme/app:ref_type:branch:ref:main')
    expect(c).toMatchObject({ ref: 'main', ref_path: 'refs/heads/main', project_path: 'acme/app' })
    expect(typeof c.runner_id).toBe('number')
  })

  it('mints CircleCI shaped tokens (per-org issuer, namespaced claims, no jti, 1 h)', async () => {
    const c = decodeJwt(await issuer.mint('circleci')) as Record<string, unknown>
    expect(c.iss).toBe(issuer.issuers.circleci)
    expect(c.jti).toBeUndefined()
    expect(c['oidc.circleci.com/vcs-origin']).toBe('github.com/acme/app')
    expect(String(c.sub)).toMatch(/^org\/[0-9a-f-]{36}\/project\/[0-9a-f-]{36}\/user\/[0-9a-f-]{36}$/)
    expect(c.exp).toBe((c.iat as number) + 3600)
  })

  it('mints Buildkite shaped tokens (sub grammar, numeric build_number, no jti)', async () => {
    const c = decodeJwt(await issuer.mint('buildkite')) as Record<string, unknown>
    expect(String(c.sub)).toMatch(/^organization:acme:pipeline:app:ref:refs\/heads\/main:commit:[0-9a-f]{40}:step:deploy$/)
    expect(c.build_number).toBe(42)
    expect(c.jti).toBeUndefined()
  })

  it('applies overrides, removes claims set to undefined, and signs ES256 on request', async () => {
    const token = await issuer.mint('github', { alg: 'ES256', aud: 'other', claims: { ref: 'refs/heads/dev', sha: undefined } })
    expect(decodeProtectedHeader(token).alg).toBe('ES256')
    const c = decodeJwt(token)
    expect(c.aud).toBe('other')
    expect(c.ref).toBe('refs/heads/dev')
    expect(c.sub).toBe('repo:acme/app:ref:refs/heads/dev')
    expect('sha' in c).toBe(false)
  })

  it('signs verifiably with the published keys, and rotation replaces them', async () => {
    const before = issuer.jwks()
    const token = await issuer.mint('gitlab')
    await jwtVerify(token, createLocalJWKSet(before as never))
    await issuer.rotateKeys()
    const after = issuer.jwks()
    expect(after.keys.map((k) => k.kid)).not.toEqual(expect.arrayContaining(before.keys.map((k) => k.kid)))
    await expect(jwtVerify(token, createLocalJWKSet(after as never))).rejects.toThrow()
    await issuer.rotateKeys({ keepPrevious: true })
    expect(issuer.jwks().keys).toHaveLength(4)
  })
})
