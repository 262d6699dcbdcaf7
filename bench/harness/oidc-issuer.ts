/**
 * A minimal OIDC issuer for benchmarks: discovery + JWKS over HTTP on
 * 127.0.0.1, and GitHub-Actions-shaped ID tokens signed at run time. It
 * counts discovery and JWKS requests, the server side of "one JWKS fetch per
 * issuer per container".
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

export interface BenchIssuer {
  url: string
  /** The public signing key (for floor (b), which verifies against a JWK held in memory). */
  jwk: JWK
  jwksFetches(): number
  discoveryFetches(): number
  reset(): void
  /** A fresh token (unique jti and run id, so single-use and per-subject limits see distinct callers). */
  mint(claims?: Record<string, unknown>, audience?: string): Promise<string>
  close(): Promise<void>
}

export interface BenchIssuerOptions {
  alg?: 'RS256' | 'ES256'
  audience: string
  /** Claims merged into every token (e.g. repository, ref). */
  claims?: Record<string, unknown>
}

let runCounter = 1_000_000

export async function startBenchIssuer(options: BenchIssuerOptions): Promise<BenchIssuer> {
  const alg = options.alg ?? 'RS256'
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, alg, use: 'sig' }
  let jwks = 0
  let discovery = 0
  let url = ''
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/openid-configuration') {
      discovery++
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/.well-known/jwks`, id_token_signing_alg_values_supported: [alg] }))
    } else if (req.url === '/.well-known/jwks') {
      jwks++
      res.end(JSON.stringify({ keys: [jwk] }))
    } else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const key: CryptoKey = privateKey

  return {
    url,
    jwk,
    jwksFetches: () => jwks,
    discoveryFetches: () => discovery,
    reset: () => {
      jwks = 0
      discovery = 0
    },
    async mint(claims = {}, audience = options.audience) {
      const run = String(runCounter++)
      const repository = String(claims.repository ?? options.claims?.repository ?? 'acme/app')
      const ref = String(claims.ref ?? options.claims?.ref ?? 'refs/heads/main')
      return new SignJWT({
        sub: `repo:${repository}:ref:${ref}`,
        repository,
        repository_owner: repository.split('/')[0],
        repository_id: '123456',
        repository_owner_id: '65',
        ref,
        ref_type: 'branch',
        sha: 'a'.repeat(40),
        workflow: 'deploy',
        workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
        job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
        event_name: 'push',
        run_id: run,
        run_number: run.slice(-3),
        run_attempt: '1',
        actor: 'octocat',
        runner_environment: 'github-hosted',
        jti: crypto.randomUUID(),
        ...options.claims,
        ...claims,
      })
        .setProtectedHeader({ alg, kid: jwk.kid!, typ: 'JWT' })
        .setIssuer(url)
        .setAudience(audience)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('10m')
        .sign(key)
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
