import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT } from 'jose'
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

const part = (value: unknown) => base64url.encode(JSON.stringify(value))

function resign(token: string, header: Record<string, unknown>, signature = ''): string {
  const [, payload] = token.split('.')
  return `${part(header)}.${payload}.${signature}`
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

describe('OIDC verification: attacks are rejected with their code', () => {
  it('alg none (in any spelling) is refused before any network call', async () => {
    const { v, urls } = verifier()
    const good = await issuer.mint('github')
    for (const alg of ['none', 'None', 'NONE']) {
      await expectFailure(v.verify(resign(good, { alg, typ: 'JWT' })), 'OIDC_ALG_NOT_ALLOWED')
    }
    expect(urls).toEqual([])
  })

  it('HS256 signed with the issuer RSA public key (PEM or JWK bytes) is refused', async () => {
    const { v, urls } = verifier()
    const jwks = (await (await fetch(`${issuer.issuers.github}/.well-known/jwks`)).json()) as {
      keys: Array<Record<string, unknown>>
    }
    const rsa = jwks.keys.find((k) => k.kty === 'RSA')!
    const pem = await exportSPKI((await importJWK(rsa, 'RS256', { extractable: true })) as CryptoKey)
    const claims = { iss: issuer.issuers.github, aud: AUDIENCE, sub: 'repo:acme/app:ref:refs/heads/main' }
    for (const secret of [pem, JSON.stringify(rsa)]) {
      const forged = await new SignJWT({ ...claims, repository: 'acme/app' })
        .setProtectedHeader({ alg: 'HS256', kid: String(rsa.kid) })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret))
      await expectFailure(v.verify(forged), 'OIDC_ALG_NOT_ALLOWED', forged)
    }
    expect(urls).toEqual([])
  })

  it('a tampered signature or payload fails signature verification', async () => {
    const { v } = verifier()
    const token = await issuer.mint('github')
    const [h, p, s] = token.split('.') as [string, string, string]
    const sig = base64url.decode(s)
    sig[10] = (sig[10] as number) ^ 0xff
    await expectFailure(v.verify(`${h}.${p}.${base64url.encode(sig)}`), 'OIDC_BAD_SIGNATURE', token)
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)))
    const tampered = `${h}.${part({ ...claims, repository: 'acme/other' })}.${s}`
    await expectFailure(v.verify(tampered), 'OIDC_BAD_SIGNATURE', tampered)
  })

  it('a token claiming a trusted issuer but signed by another key is refused', async () => {
    const { v } = verifier()
    // Attacker's own key under an unknown kid.
    const forged = await attacker.mint('github', { claims: { iss: issuer.issuers.github } })
    await expectFailure(v.verify(forged), 'OIDC_UNKNOWN_KEY', forged)
    // Attacker's key under the victim's kid.
    const victimKid = String(issuer.jwks().keys.find((k) => k.alg === 'RS256')?.kid)
    const spoofed = await attacker.mint('github', { claims: { iss: issuer.issuers.github }, kid: victimKid })
    await expectFailure(v.verify(spoofed), 'OIDC_BAD_SIGNATURE', spoofed)
  })

  it('an unknown issuer is refused before any network call', async () => {
    const { v, urls } = verifier()
    const token = await attacker.mint('github')
    const err = await expectFailure(v.verify(token), 'OIDC_UNKNOWN_ISSUER', token)
    expect(err.message).toContain(attacker.issuers.github)
    await expectFailure(v.verify(await issuer.mint('github', { claims: { iss: undefined } })), 'OIDC_UNKNOWN_ISSUER')
    expect(urls).toEqual([])
    expect(attacker.requests).toEqual({ discovery: 0, jwks: 0 })
  })

  it('expired, not yet valid, issued in the future and too old tokens are refused', async () => {
    const { v } = verifier()
    const now = Date.now()
    const expired = await issuer.mint('gitlab', { issuedAt: new Date(now - 10 * 60_000) }) // exp = iat + 5 min
    await expectFailure(v.verify(expired), 'OIDC_EXPIRED', expired)
    const nbf = await issuer.mint('github', { claims: { nbf: Math.floor(now / 1000) + 3600 } })
    await expectFailure(v.verify(nbf), 'OIDC_NOT_YET_VALID', nbf)
    const future = await issuer.mint('circleci', { issuedAt: new Date(now + 3600_000) })
    await expectFailure(v.verify(future), 'OIDC_NOT_YET_VALID', future)
    const old = await issuer.mint('circleci', { issuedAt: new Date(now - 20 * 60_000) }) // exp still ahead
    await expectFailure(v.verify(old), 'OIDC_TOO_OLD', old)
  })

  it('honours the injected clock and a 60 s tolerance', async () => {
    const issuedAt = new Date('2030-01-01T00:00:00Z')
    const token = await issuer.mint('buildkite', { issuedAt }) // exp = iat + 300
    const at = (seconds: number) => verifier({ clock: () => new Date(issuedAt.getTime() + seconds * 1000) }).v
    await expect(at(300 + 59).verify(token)).resolves.toBeDefined()
    await expectFailure(at(300 + 61).verify(token), 'OIDC_EXPIRED', token)
  })

  it('a wrong or missing audience is refused', async () => {
    const { v } = verifier()
    const wrong = await issuer.mint('github', { aud: 'https://github.com/acme' })
    await expectFailure(v.verify(wrong), 'OIDC_WRONG_AUDIENCE', wrong)
    const missing = await issuer.mint('github', { claims: { aud: undefined } })
    await expectFailure(v.verify(missing), 'OIDC_MISSING_CLAIM', missing)
  })

  it('tokens without sub, iat or exp are refused', async () => {
    const { v } = verifier()
    for (const claim of ['sub', 'iat', 'exp']) {
      const token = await issuer.mint('gitlab', { claims: { [claim]: undefined } })
      const err = await expectFailure(v.verify(token), 'OIDC_MISSING_CLAIM', token)
      expect(err.message).toContain(claim)
    }
  })

  it('garbage is refused as malformed', async () => {
    const { v } = verifier()
    for (const junk of ['eyJ', 'eyJhbGciOiJSUzI1NiJ9.x', 'eyJhbGciOiJSUzI1NiJ9.!!!.x', 'a.b.c.d.e']) {
      await expectFailure(v.verify(junk), 'OIDC_MALFORMED')
    }
  })
})

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
