/**
 * A local OIDC issuer for `npm start` and tests: discovery and JWKS over real
 * HTTP on 127.0.0.1, and ID tokens shaped like GitHub Actions, GitLab,
 * CircleCI and Buildkite ones. Each CI flavour has its own issuer URL under
 * the one server (`<base>/github`, `<base>/gitlab`,
 * `<base>/circleci/org/<org-id>`, `<base>/buildkite`), just as each is a
 * distinct issuer in real life.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import { buildClaims, CI_PROVIDERS, LOCAL_CIRCLECI_ORG_ID, type CiProvider } from './claims.js'
import { KeyRing, type SigningAlg } from './keys.js'

export { CI_PROVIDERS, LOCAL_CIRCLECI_ORG_ID, LOCAL_CIRCLECI_PROJECT_ID, type CiProvider } from './claims.js'
export type { SigningAlg } from './keys.js'

/** The issuer names local/policy.yaml uses for each flavour. */
export const LOCAL_POLICY_ISSUER_NAMES: Record<CiProvider, string> = {
  github: 'local-github',
  gitlab: 'local-gitlab',
  circleci: 'local-circleci',
  buildkite: 'local-buildkite',
}

export interface LocalOidcIssuerOptions {
  /** Default 0 (any free port). */
  port?: number
  /** Default `aud` of minted tokens. Default `githosted-ci-broker`. */
  audience?: string
  /** Token times; defaults to the wall clock. */
  clock?: () => Date
}

export interface MintOptions {
  /** Overrides the issuer's default audience. */
  aud?: string | string[]
  /** Claim overrides; `undefined` removes a claim. `iss` may be overridden too (for attack tests). */
  claims?: Record<string, unknown>
  /** Signing algorithm. Default RS256. */
  alg?: SigningAlg
  /** Header `kid` override (e.g. one the issuer does not publish). */
  kid?: string
  /** Issue time. Default: the clock. */
  issuedAt?: Date
  /** exp - iat. Default: the platform's usual lifetime. */
  lifetimeSeconds?: number
  /** Extra protected-header parameters, validly signed (attack tests: `crit`, `jku`, `jwk`, `x5u`). */
  header?: Record<string, unknown>
}

export interface RequestCounts {
  discovery: number
  jwks: number
}

export interface LocalOidcIssuer {
  /** Base URL of the server, e.g. http://127.0.0.1:54321. */
  issuer: string
  /** The `iss` of each flavour's tokens. */
  issuers: Record<CiProvider, string>
  /** For loadPolicy(local/policy.yaml, { issuerUrls }): issuer name -> URL. */
  policyIssuerUrls: Record<string, string>
  mint(provider: CiProvider, options?: MintOptions): Promise<string>
  /** New signing keys; the old public keys stay published only with `keepPrevious`. */
  rotateKeys(options?: { keepPrevious?: boolean }): Promise<void>
  /** The published key set (public keys only). */
  jwks(): { keys: Array<Record<string, unknown>> }
  /** Requests served so far, by kind (tests count JWKS fetches with this). */
  readonly requests: RequestCounts
  /**
   * GitHub Actions' ID token request endpoint, as the runner exposes it to a
   * job (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN): GET with the bearer and
   * `&audience=`, answers `{"value": JWT}` with GitHub-shaped claims.
   */
  actionsIdTokenRequest: { url: string; token: string }
  close(): Promise<void>
}

/** Starts the issuer on 127.0.0.1. */
export async function startLocalOidcIssuer(options: LocalOidcIssuerOptions = {}): Promise<LocalOidcIssuer> {
  const keys = new KeyRing()
  await keys.init()
  const clock = options.clock ?? (() => new Date())
  const audience = options.audience ?? 'githosted-ci-broker'
  const requests: RequestCounts = { discovery: 0, jwks: 0 }
  const paths: Record<CiProvider, string> = {
    github: '/github',
    gitlab: '/gitlab',
    circleci: `/circleci/org/${LOCAL_CIRCLECI_ORG_ID}`,
    buildkite: '/buildkite',
  }
  let base = ''
  const actionsRequestToken = randomBytes(24).toString('base64url')
  const actionsPath = '/github/_apis/distributedtask/idtoken'
  // One job behind the endpoint: every token it hands out carries the same run, as a real job's do.
  const actionsRunId = String(2_000_000 + (randomBytes(3).readUIntBE(0, 3) % 7_000_000))

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
    res.end(text)
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' })
    if (path === actionsPath) {
      if (req.headers.authorization !== `Bearer ${actionsRequestToken}`) return send(res, 401, { message: 'Bad credentials' })
      const audience = new URL(req.url ?? '/', 'http://x').searchParams.get('audience')
      // Like GitHub: the default audience is the repository owner's URL when none is asked for.
      issuer.mint('github', { aud: audience ?? 'https://github.com/acme', claims: { run_id: actionsRunId } }).then(
        (value) => send(res, 200, { value }),
        () => send(res, 500, { message: 'mint failed' }),
      )
      return
    }
    for (const provider of CI_PROVIDERS) {
      const prefix = paths[provider]
      if (path === `${prefix}/.well-known/openid-configuration`) {
        requests.discovery += 1
        return send(res, 200, {
          issuer: base + prefix,
          jwks_uri: `${base}${prefix}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
          scopes_supported: ['openid'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf'],
        })
      }
      if (path === `${prefix}/.well-known/jwks`) {
        requests.jwks += 1
        return send(res, 200, keys.jwks())
      }
    }
    send(res, 404, { error: 'not found' })
  }

  const server = createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  base = `http://127.0.0.1:${port}`
  const issuers = Object.fromEntries(CI_PROVIDERS.map((p) => [p, base + paths[p]])) as Record<CiProvider, string>

  const issuer: LocalOidcIssuer = {
    issuer: base,
    issuers,
    actionsIdTokenRequest: { url: `${base}${actionsPath}?api-version=2.0`, token: actionsRequestToken },
    policyIssuerUrls: Object.fromEntries(CI_PROVIDERS.map((p) => [LOCAL_POLICY_ISSUER_NAMES[p], issuers[p]])),
    requests,
    async mint(provider, mintOptions = {}) {
      const alg = mintOptions.alg ?? 'RS256'
      const key = keys.key(alg)
      const iat = Math.floor((mintOptions.issuedAt ?? clock()).getTime() / 1000)
      const times = { iat, lifetimeSeconds: mintOptions.lifetimeSeconds }
      const claims = buildClaims(provider, times, mintOptions.claims)
      const payload = { iss: issuers[provider], aud: mintOptions.aud ?? audience, ...claims }
      // `iss` and `aud` are set here, not by buildClaims: honour their removal too.
      for (const [name, value] of Object.entries(mintOptions.claims ?? {})) {
        if (value === undefined) delete (payload as Record<string, unknown>)[name]
      }
      const header: Record<string, unknown> & { alg: string } = { alg, typ: 'JWT', kid: mintOptions.kid ?? key.kid, ...mintOptions.header }
      // jose refuses to sign a `crit` it does not know unless told the names are understood.
      const critNames: unknown[] = Array.isArray(header.crit) ? header.crit : []
      const crit = critNames.length > 0 ? Object.fromEntries(critNames.map((name) => [String(name), true])) : undefined
      return new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey, crit ? { crit } : undefined)
    },
    rotateKeys: (rotateOptions) => keys.rotate(rotateOptions?.keepPrevious ?? false),
    jwks: () => keys.jwks() as { keys: Array<Record<string, unknown>> },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
  return issuer
}
