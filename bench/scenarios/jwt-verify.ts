/**
 * Scenario 4: JWT verifications per second with a cached JWKS, RS256 and
 * ES256. jose is measured directly (a local key set, and a remote key set
 * served over HTTP and already fetched once), which is the floor for any
 * verifier built on it; then the product's OIDC verifier (functions/lib/auth/
 * oidc.ts: discovery, per-issuer cached key set, claim checks) on the same
 * token, so its own cost on top of jose is visible.
 */
import { createServer, type Server } from 'node:http'
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
import { interleave } from '../harness/rounds.js'
import { fmtInt, median } from '../harness/stats.js'

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
        'broker takes. Windows are interleaved across verifiers; figures are medians of windows.',
    )
    const windowMs = ctx.quick ? 300 : 700
    const windows = reps(ctx, 5, 3)
    // Every case is prepared and warmed first, then the timed windows are interleaved across
    // cases, so a noisy moment on the shared machine hits all of them alike.
    const cases: Array<{ alg: string; label: string; verify: () => Promise<unknown>; rates: number[] }> = []
    const servers: Server[] = []
    try {
      for (const alg of ['RS256', 'ES256'] as const) {
        let jwks: unknown = { keys: [] }
        let issuerUrl = ''
        const server = createServer((req, res) => {
          res.setHeader('content-type', 'application/json')
          if (req.url === '/.well-known/openid-configuration') {
            res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }))
          } else res.end(JSON.stringify(jwks))
        })
        servers.push(server)
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
        issuerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const { jwk, jwt } = await keyAndToken(alg, issuerUrl)
        jwks = { keys: [jwk] }
        const product = createOidcVerifier({
          issuers: [{ name: 'bench', preset: 'github', url: issuerUrl }],
          audience: AUDIENCE,
          cache: new Map(),
        })
        const jose = (keys: JWTVerifyGetKey) => () =>
          jwtVerify(jwt, keys, { issuer: issuerUrl, audience: AUDIENCE, algorithms: [alg] })
        cases.push(
          { alg, label: 'jose, local key set', verify: jose(createLocalJWKSet({ keys: [jwk] })), rates: [] },
          { alg, label: 'jose, remote key set (cached)', verify: jose(createRemoteJWKSet(new URL(`${issuerUrl}/jwks`))), rates: [] },
          { alg, label: 'product OIDC verifier (cached)', verify: () => product.verify(jwt), rates: [] },
        )
      }
      // Discovery, JWKS fetch and key import happen here, outside the timing.
      for (const c of cases) await opsPerSecond(c.verify, { windowMs: 200, windows: 1 })
      await interleave(cases, windows, async (c) => {
        c.rates.push(await opsPerSecond(c.verify, { windowMs, windows: 1, warmupMs: 20 }))
      })
    } finally {
      for (const server of servers) await new Promise((r) => server.close(r))
    }
    const rows = cases.map((c) => {
      const rate = median(c.rates)
      ctx.log(`${c.alg} ${c.label}: ${fmtInt(rate)}/s`)
      s.figures[`${c.alg} ${c.label} verifications/s`] = Math.round(rate)
      return [c.alg, c.label, fmtInt(rate), `${(1000 / rate).toFixed(3)} ms`]
    })
    s.tables.push({ headers: ['algorithm', 'verifier', 'verifications/s', 'per verification'], rows })
    s.notes.push(
      'Verification is single-threaded and well under a millisecond per token, so it is small next to a ' +
        'githosted round trip; it sets a ceiling on /v1/tokens throughput per core, not its latency.',
    )
    return s
  },
}

