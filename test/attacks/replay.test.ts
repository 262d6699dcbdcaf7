/**
 * Replaying an OIDC ID token to mint more than once. The finding: tokens
 * without `jti` (CircleCI, Buildkite) were keyed on the token text, so
 * re-spelling the signature's last base64url character (its unused low bits)
 * gave a fresh key for a signature that still verified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CI_PROVIDERS, type CiProvider } from '../../local/oidc/index.js'
import { REPO, startHarness, type Harness } from './harness.js'

let h: Harness
const used: string[] = []

beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Every other spelling of a segment's last character that decodes to the same
 * bytes (a lenient decoder ignores the low bits that do not fill a byte).
 */
function respellings(segment: string): string[] {
  const unused = [0, 0, 4, 2][segment.length % 4] as number
  const last = B64URL.indexOf(segment.at(-1)!)
  const out: string[] = []
  for (let low = 0; low < 1 << unused; low++) {
    const value = (last & ~((1 << unused) - 1)) | low
    if (value !== last) out.push(segment.slice(0, -1) + B64URL[value])
  }
  return out
}

async function mint(jwt: string) {
  used.push(jwt)
  return h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO, ttl: '10m' } })
}

describe('attacks on single use (replay)', () => {
  it.each(CI_PROVIDERS)('%s: flipped padding bits of the signature are refused as non-canonical, never minted', async (provider: CiProvider) => {
    const token = await h.oidc.mint(provider)
    const [head, payload, signature] = token.split('.') as [string, string, string]
    const variants = respellings(signature)
    // RS256 signatures are 342 characters: 4 unused bits, so 15 other spellings.
    expect(variants).toHaveLength(15)
    expect((await mint(token)).status).toBe(201)
    for (const variant of variants) {
      const r = await mint(`${head}.${payload}.${variant}`)
      expect(r.status).toBe(401)
      expect(r.json).toMatchObject({ code: 'OIDC_MALFORMED' })
    }
    const again = await mint(token)
    expect(again.status).toBe(401)
    expect(again.json).toMatchObject({ code: 'OIDC_REPLAYED' })
  })

  it('re-spelled header or payload segments are refused the same way', async () => {
    const token = await h.oidc.mint('buildkite')
    const segments = token.split('.') as [string, string, string]
    let tried = 0
    for (const index of [0, 1]) {
      for (const variant of respellings(segments[index]!).slice(0, 3)) {
        const forged = segments.map((s, i) => (i === index ? variant : s)).join('.')
        const r = await mint(forged)
        expect(r.status).toBe(401)
        expect(r.json).toMatchObject({ code: 'OIDC_MALFORMED' })
        tried += 1
      }
    }
    expect(tried).toBeGreaterThan(0)
  })

  it('without jti, two mints of one token race: one wins, the other is a replay', async () => {
    // RS256 is deterministic: a distinct iat makes this token differ from the ones above.
    const token = await h.oidc.mint('circleci', { issuedAt: new Date(Date.now() - 7000) })
    const results = await Promise.all([mint(token), mint(token)])
    expect(results.map((r) => r.status).sort()).toEqual([201, 401])
    expect(results.find((r) => r.status === 401)?.json).toMatchObject({ code: 'OIDC_REPLAYED' })
  })

  it('a reused jti is a replay even in a different token; the same jti from another issuer is not', async () => {
    const jti = 'b1f0c9a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b'
    expect((await mint(await h.oidc.mint('github', { claims: { jti } }))).status).toBe(201)
    const other = await mint(await h.oidc.mint('github', { claims: { jti, run_attempt: '2' } }))
    expect(other.status).toBe(401)
    expect(other.json).toMatchObject({ code: 'OIDC_REPLAYED' })
    expect((await mint(await h.oidc.mint('gitlab', { claims: { jti } }))).status).toBe(201)
  })

  it('twelve parallel mints with one token: exactly one token is minted', async () => {
    for (const provider of ['github', 'buildkite'] as const) {
      const token = await h.oidc.mint(provider)
      const results = await Promise.all(Array.from({ length: 12 }, () => mint(token)))
      expect(results.filter((r) => r.status === 201)).toHaveLength(1)
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status).toBe(401)
        expect(r.json).toMatchObject({ code: 'OIDC_REPLAYED' })
      }
    }
  })

  it('no ID token or minted token reaches a log line', () => {
    h.expectNoSecretsInLogs(used)
  })
})
