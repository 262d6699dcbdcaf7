import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JwksCache } from '../../../../functions/lib/auth/jwks.js'
import { createOidcVerifier, type OidcVerifierOptions } from '../../../../functions/lib/auth/oidc.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../../../local/oidc/index.js'
import { AUDIENCE, countingFetch, expectFailure, issuerConfigs } from './support.js'

let issuer: LocalOidcIssuer
let attacker: LocalOidcIssuer

beforeAll(async () => {
  ;[issuer, attacker] = await Promise.all([
    startLocalOidcIssuer({ audience: AUDIENCE }),
    startLocalOidcIssuer({ audience: AUDIENCE }),
  ])
})
afterAll(async () => {
  await Promise.all([issuer.close(), attacker.close()])
})

/** A verifier with its own cache and a counting fetch, over real HTTP. */
function verifier(overrides: Partial<OidcVerifierOptions> = {}) {
  const counter = countingFetch()
  const cache: JwksCache = new Map()
  const v = createOidcVerifier({
    issuers: issuerConfigs(issuer),
    audience: AUDIENCE,
    fetch: counter.fetch,
    cache,
    ...overrides,
  })
  const jwksFetches = () => counter.urls.filter((u) => u.endsWith('/.well-known/jwks')).length
  const discoveries = () => counter.urls.filter((u) => u.endsWith('/openid-configuration')).length
  return { v, urls: counter.urls, jwksFetches, discoveries }
}


describe('OIDC verification: happy paths', () => {
  it('verifies RS256 and ES256 tokens of all four CI flavours', async () => {
    const { v } = verifier()
    for (const provider of ['github', 'gitlab', 'circleci', 'buildkite'] as const) {
      for (const alg of ['RS256', 'ES256'] as const) {
        const result = await v.verify(await issuer.mint(provider, { alg }))
        expect(result.issuer.url).toBe(issuer.issuers[provider])
        expect(result.claims.iss).toBe(issuer.issuers[provider])
      }
    }
  })

  it('fetches discovery and JWKS once per issuer over many verifications', async () => {
    const { v, jwksFetches, discoveries } = verifier()
    for (let i = 0; i < 10; i++) {
      await v.verify(await issuer.mint('github'))
      await v.verify(await issuer.mint('gitlab', { alg: 'ES256' }))
    }
    expect(discoveries()).toBe(2)
    expect(jwksFetches()).toBe(2)
  })

  it('shares one fetch between concurrent first verifications', async () => {
    const { v, jwksFetches, discoveries } = verifier()
    const tokens = await Promise.all(Array.from({ length: 8 }, () => issuer.mint('github')))
    await Promise.all(tokens.map((t) => v.verify(t)))
    expect(discoveries()).toBe(1)
    expect(jwksFetches()).toBe(1)
  })

  it('bounds how long the token stays acceptable by exp and iat + maxTokenAge', async () => {
    const { v } = verifier({ maxTokenAge: '10m' })
    const token = await issuer.mint('circleci') // exp = iat + 1 h
    const { claims, acceptableUntil } = await v.verify(token)
    expect(acceptableUntil.getTime()).toBe(((claims.iat as number) + 600 + 60) * 1000)
  })
})

// Forged and malformed tokens (alg none, HS/RS confusion, kid swap, tampering, time bounds,
// iss/aud variants, jku/x5u/jwk, crit, garbage) are attacks: see test/attacks/oidc.test.ts.

describe('OIDC verification: unknown kid and key rotation', () => {
  it('an unknown kid causes exactly one refetch, then rejection', async () => {
    const { v, jwksFetches } = verifier({ jwks: { cooldownMs: 0 } })
    await v.verify(await issuer.mint('github'))
    expect(jwksFetches()).toBe(1)
    const token = await issuer.mint('github', { kid: 'not-published' })
    await expectFailure(v.verify(token), 'OIDC_UNKNOWN_KEY', token)
    expect(jwksFetches()).toBe(2)
  })

  it('within the cooldown, unknown kids cause no refetch at all', async () => {
    const { v, jwksFetches } = verifier() // default 30 s cooldown
    await v.verify(await issuer.mint('github'))
    for (let i = 0; i < 5; i++) {
      await expectFailure(v.verify(await issuer.mint('github', { kid: `nope-${i}` })), 'OIDC_UNKNOWN_KEY')
    }
    expect(jwksFetches()).toBe(1)
  })

  it('after a key rotation, new tokens verify after one refetch and old ones are refused', async () => {
    const { v, jwksFetches } = verifier({ jwks: { cooldownMs: 0 } })
    const old = await issuer.mint('gitlab')
    await v.verify(old)
    await issuer.rotateKeys()
    await v.verify(await issuer.mint('gitlab'))
    expect(jwksFetches()).toBe(2)
    await expectFailure(v.verify(old), 'OIDC_UNKNOWN_KEY', old)
    expect(jwksFetches()).toBe(3)
  })
})

describe('OIDC verification: discovery and JWKS hygiene', () => {
  const ISS = 'https://ci.example.test'
  const config = [{ name: 'ex', preset: 'custom' as const, url: ISS }]

  async function signedToken(kid = 'k1') {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' }
    const token = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(ISS)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
    return { token, jwk }
  }

  /** A fake fetch for an https issuer we cannot serve locally. */
  function fakeFetch(routes: Record<string, () => Response>) {
    const calls: string[] = []
    const f: typeof fetch = async (input) => {
      const url = String(input instanceof Request ? input.url : input)
      calls.push(url)
      const route = routes[url]
      return route ? route() : new Response('not found', { status: 404 })
    }
    return { f, calls }
  }

  it('accepts an https jwks_uri from a discovery document that names the issuer', async () => {
    const { token, jwk } = await signedToken()
    const { f } = fakeFetch({
      [`${ISS}/.well-known/openid-configuration`]: () => Response.json({ issuer: ISS, jwks_uri: `${ISS}/keys` }),
      [`${ISS}/keys`]: () => Response.json({ keys: [jwk] }),
    })
    const v = createOidcVerifier({ issuers: config, audience: AUDIENCE, fetch: f, cache: new Map() })
    await expect(v.verify(token)).resolves.toMatchObject({ claims: { sub: 'x' } })
  })

  it('refuses a plain-http jwks_uri, a mismatched issuer and oversized bodies (503), and retries only after a backoff', async () => {
    const { token, jwk } = await signedToken()
    const cases: Array<Record<string, () => Response>> = [
      { [`${ISS}/.well-known/openid-configuration`]: () => Response.json({ issuer: ISS, jwks_uri: 'http://ci.example.test/keys' }) },
      { [`${ISS}/.well-known/openid-configuration`]: () => Response.json({ issuer: 'https://evil.test', jwks_uri: `${ISS}/keys` }) },
      { [`${ISS}/.well-known/openid-configuration`]: () => new Response('x'.repeat(200 * 1024)) },
      {
        [`${ISS}/.well-known/openid-configuration`]: () => Response.json({ issuer: ISS, jwks_uri: `${ISS}/keys` }),
        [`${ISS}/keys`]: () => Response.json({ keys: [jwk], padding: 'x'.repeat(200 * 1024) }),
      },
      { [`${ISS}/.well-known/openid-configuration`]: () => new Response('down', { status: 500 }) },
    ]
    for (const routes of cases) {
      const { f, calls } = fakeFetch(routes)
      let now = Date.now()
      const v = createOidcVerifier({
        issuers: config,
        audience: AUDIENCE,
        fetch: f,
        cache: new Map(),
        clock: () => new Date(now),
        jwks: { failureBackoffMs: 10_000 },
      })
      const err = await expectFailure(v.verify(token), 'OIDC_JWKS_UNAVAILABLE', token)
      expect(err.status).toBe(503)
      const before = calls.length
      await expectFailure(v.verify(token), 'OIDC_JWKS_UNAVAILABLE', token)
      expect(calls.length).toBe(before) // negative-cached: no fetch during the backoff
      now += 10_001
      await expectFailure(v.verify(token), 'OIDC_JWKS_UNAVAILABLE', token)
      expect(calls.length).toBeGreaterThan(before) // retried once the backoff is over
    }
  })
})
