/**
 * Scenario 4: JWT verifications per second with a cached JWKS, RS256 and
 * ES256. jose is measured directly (a local key set, and a remote key set
 * served over HTTP and already fetched once), which is the floor for any
 * verifier built on it; then the product's OIDC verifier (functions/lib/auth/
 * oidc.ts: discovery, per-issuer cached key set, claim checks) on the same
 * token, so its own cost on top of jose is visible.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWTVerifyGetKey,
} from 'jose'
import { createOidcVerifier } from '../../functions/lib/auth/oidc.js'
import { opsPerSecond } from '../harness/throughput.js'
import { reps, section, type Scenario } from '../harness/scenario.js'
import { fmtInt } from '../harness/stats.js'

const AUDIENCE = 'githosted-ci-broker'

/** Claims shaped like a GitHub Actions ID token, so payload parsing costs what it does in production. */
function githubClaims() {
  return {
    sub: 'repo:acme/app:ref:refs/heads/main',
    repository: 'acme/app',
    repository_owner: 'acme',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    workflow: 'deploy',
    event_name: 'push',
    run_id: '1234567890',
    run_attempt: '1',
    actor: 'octocat',
    environment: 'production',
    job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    jti: crypto.randomUUID(),
  }
}

async function keyAndToken(alg: 'RS256' | 'ES256', issuer: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, alg, use: 'sig' }
  const jwt = await new SignJWT(githubClaims())
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('10m')
    .sign(privateKey)
  return { jwk, jwt }
}

export const jwtVerification: Scenario = {
  name: 'jwt-verify',
  async run(ctx) {
    const s = section(
      'JWT verification (cached JWKS)',
      'Verifications per second of a GitHub-Actions-shaped ID token with `jose.jwtVerify` (issuer, ' +
        'audience, algorithm allowlist, exp/nbf/iat checked), one at a time on one core. "remote, cached" ' +
        'is `createRemoteJWKSet` against a local HTTP JWKS endpoint after its first fetch — the path the ' +
        'broker takes. Median of timed windows.',
    )
    const windowMs = ctx.quick ? 300 : 1000
    const windows = reps(ctx, 5, 3)
    const rows: string[][] = []
    for (const alg of ['RS256', 'ES256'] as const) {
      let jwks: unknown = { keys: [] }
      const server = createServer((req, res) => {
        res.setHeader('content-type', 'application/json')
        if (req.url === '/.well-known/openid-configuration') {
          res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }))
        } else res.end(JSON.stringify(jwks))
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const issuerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const { jwk, jwt } = await keyAndToken(alg, issuerUrl)
      jwks = { keys: [jwk] }
      try {
        const product = createOidcVerifier({
          issuers: [{ name: 'bench', preset: 'github', url: issuerUrl }],
          audience: AUDIENCE,
          cache: new Map(),
        })
        const jose = (keys: JWTVerifyGetKey) => () =>
          jwtVerify(jwt, keys, { issuer: issuerUrl, audience: AUDIENCE, algorithms: [alg] })
        const cases: Array<[string, () => Promise<unknown>]> = [
          ['jose, local key set', jose(createLocalJWKSet({ keys: [jwk] }))],
          ['jose, remote key set (cached)', jose(createRemoteJWKSet(new URL(`${issuerUrl}/jwks`)))],
          ['product OIDC verifier (cached)', () => product.verify(jwt)],
        ]
        for (const [label, verify] of cases) {
          await verify() // discovery + JWKS fetch and key import happen once, outside the timing
          const rate = await opsPerSecond(verify, { windowMs, windows })
          ctx.log(`${alg} ${label}: ${fmtInt(rate)}/s`)
          rows.push([alg, label, fmtInt(rate), `${(1000 / rate).toFixed(3)} ms`])
          s.figures[`${alg} ${label} verifications/s`] = Math.round(rate)
        }
      } finally {
        await new Promise((r) => server.close(r))
      }
    }
    s.tables.push({ headers: ['algorithm', 'verifier', 'verifications/s', 'per verification'], rows })
    s.notes.push(
      'Verification is single-threaded and well under a millisecond per token, so it is small next to a ' +
        'githosted round trip; it sets a ceiling on /v1/tokens throughput per core, not its latency.',
    )
    return s
  },
}

