/**
 * Attacks on OIDC ID token verification, through POST /v1/tokens over HTTP.
 * Each forged token must get 401 with its own code, and most must be refused
 * before the broker fetches anything.
 */
import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../local/oidc/index.js'
import { AUDIENCE, REPO, startHarness, type Harness } from './harness.js'

let h: Harness
let attacker: LocalOidcIssuer

beforeAll(async () => {
  ;[h, attacker] = await Promise.all([startHarness(), startLocalOidcIssuer({ audience: AUDIENCE })])
})
afterAll(async () => {
  await Promise.all([h?.close(), attacker?.close()])
})

const segment = (value: unknown) => base64url.encode(JSON.stringify(value))
const payloadOf = (token: string) => JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1]!)))

function withHeader(token: string, header: Record<string, unknown>, signature = ''): string {
  return `${segment(header)}.${token.split('.')[1]}.${signature}`
}

/** POST /v1/tokens with `jwt` and checks the 401 and its code. */
async function refused(jwt: string, code: string) {
  const r = await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO } })
  expect(r.status, r.text).toBe(401)
  expect(r.json).toMatchObject({ code })
  expect(r.text.includes(jwt), 'the token is echoed').toBe(false)
  return r
}

describe('attacks on OIDC verification (401 with a code)', () => {
  it('alg none, in any spelling, is refused before any fetch', async () => {
    const before = { ...h.oidc.requests }
    const good = await h.oidc.mint('github')
    for (const alg of ['none', 'None', 'NONE']) await refused(withHeader(good, { alg, typ: 'JWT' }), 'OIDC_ALG_NOT_ALLOWED')
    expect(h.oidc.requests).toEqual(before)
  })

  it('HS256 signed with the issuer RSA public key (PEM or JWK text) is refused: no HS/RS confusion', async () => {
    const rsa = h.oidc.jwks().keys.find((k) => k.kty === 'RSA')!
    const pem = await exportSPKI((await importJWK(rsa, 'RS256', { extractable: true })) as CryptoKey)
    const claims = payloadOf(await h.oidc.mint('github'))
    for (const secret of [pem, JSON.stringify(rsa)]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: String(rsa.kid) })
        .sign(new TextEncoder().encode(secret))
      await refused(forged, 'OIDC_ALG_NOT_ALLOWED')
    }
  })

  it('ES/RS kid swap: an RS256 token relabelled ES256, or signed by another key under the real kid, is refused', async () => {
    const good = await h.oidc.mint('github', { alg: 'RS256' })
    const [header, , signature] = good.split('.') as [string, string, string]
    const rsKid = JSON.parse(new TextDecoder().decode(base64url.decode(header))).kid
    await refused(withHeader(good, { alg: 'ES256', typ: 'JWT', kid: rsKid }, signature), 'OIDC_UNKNOWN_KEY')
    const esKid = String(h.oidc.jwks().keys.find((k) => k.kty === 'EC')?.kid)
    await refused(withHeader(good, { alg: 'RS256', typ: 'JWT', kid: esKid }, signature), 'OIDC_UNKNOWN_KEY')
    const spoofed = await attacker.mint('github', { claims: { iss: h.oidc.issuers.github }, kid: rsKid })
    await refused(spoofed, 'OIDC_BAD_SIGNATURE')
  })

  it('a flipped signature byte or a tampered payload fails the signature', async () => {
    const token = await h.oidc.mint('github')
    const [head, payload, signature] = token.split('.') as [string, string, string]
    const sig = base64url.decode(signature)
    sig[10] = (sig[10] as number) ^ 0xff
    await refused(`${head}.${payload}.${base64url.encode(sig)}`, 'OIDC_BAD_SIGNATURE')
    const tampered = `${head}.${segment({ ...payloadOf(token), repository_id: '75' })}.${signature}`
    await refused(tampered, 'OIDC_BAD_SIGNATURE')
  })

  it('exp, nbf and iat bounds: expired, not yet valid, issued in the future, too old', async () => {
    const now = Date.now()
    await refused(await h.oidc.mint('gitlab', { issuedAt: new Date(now - 10 * 60_000) }), 'OIDC_EXPIRED')
    await refused(await h.oidc.mint('github', { claims: { nbf: Math.floor(now / 1000) + 3600 } }), 'OIDC_NOT_YET_VALID')
    await refused(await h.oidc.mint('circleci', { issuedAt: new Date(now + 3600_000) }), 'OIDC_NOT_YET_VALID')
    await refused(await h.oidc.mint('circleci', { issuedAt: new Date(now - 20 * 60_000) }), 'OIDC_TOO_OLD')
  })

  it('iss variants (unknown, trailing slash, other case, absent) are refused before any fetch', async () => {
    const before = { ...h.oidc.requests }
    const iss = h.oidc.issuers.github
    for (const variant of [attacker.issuers.github, `${iss}/`, iss.toUpperCase(), undefined]) {
      await refused(await attacker.mint('github', { claims: { iss: variant } }), 'OIDC_UNKNOWN_ISSUER')
    }
    expect(h.oidc.requests).toEqual(before)
    expect(attacker.requests).toEqual({ discovery: 0, jwks: 0 })
  })

  it('aud variants: another audience, a near miss, none', async () => {
    for (const aud of ['https://github.com/acme', `${AUDIENCE}/`, AUDIENCE.toUpperCase(), [`x-${AUDIENCE}`]]) {
      await refused(await h.oidc.mint('github', { aud }), 'OIDC_WRONG_AUDIENCE')
    }
    await refused(await h.oidc.mint('github', { claims: { aud: undefined } }), 'OIDC_MISSING_CLAIM')
  })

  it('jku, x5u and jwk headers are ignored: the attacker key they point at is never fetched nor trusted', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'RS256' }
    const claims = payloadOf(await h.oidc.mint('github'))
    const before = { ...attacker.requests }
    for (const extra of [
      { jku: `${attacker.issuers.github}/.well-known/jwks` },
      { x5u: `${attacker.issuers.github}/.well-known/jwks` },
      { jwk },
    ]) {
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'attacker', ...extra }).sign(privateKey)
      await refused(forged, 'OIDC_UNKNOWN_KEY')
    }
    expect(attacker.requests).toEqual(before)
  })

  it('a validly signed token with a crit header the broker does not understand is refused', async () => {
    for (const crit of [['x-must-understand'], ['exp']]) {
      const token = await h.oidc.mint('github', { header: { crit, 'x-must-understand': true, exp: 1 } })
      await refused(token, 'OIDC_MALFORMED')
    }
  })

  it('garbage shaped like a JWT is malformed', async () => {
    for (const junk of ['eyJ', 'eyJhbGciOiJSUzI1NiJ9.x', 'eyJhbGciOiJSUzI1NiJ9.!!!.x', 'eyJa.b.c.d.e']) await refused(junk, 'OIDC_MALFORMED')
  })

  it('a 1 MB token is refused by its length, without parsing it', async () => {
    const huge = `eyJ${'A'.repeat(1024 * 1024)}`
    const res = await h.direct(
      new Request(`${h.url}/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${huge}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: REPO }),
      }),
    )
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'CREDENTIAL_MALFORMED' })
    // Over real HTTP the server refuses the header before the broker sees it.
    const overHttp = await fetch(`${h.url}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${huge}` } })
    expect(overHttp.status).toBe(431)
  })

  it('no OIDC token reaches a log line', () => {
    h.expectNoSecretsInLogs()
  })
})
