/**
 * The whole broker on one local port: the same app factories the Lambdas use,
 * given local dependencies (the local githosted server, the local OIDC
 * issuer, a generated broker key and viewer credential), behind a router that
 * sends each path to the function API Gateway would (functions/routes.ts).
 */
import { Hono } from 'hono'
import { readFileSync } from 'node:fs'
import { createLogger, type Logger } from '../functions/lib/observability/logger.js'
import { createAuthenticator } from '../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../functions/lib/auth/broker-keys.js'
import { Client } from '../functions/lib/githosted/index.js'
import type { GithostedClientFactory } from '../functions/lib/githosted/types.js'
import { loadPolicyFile, parsePolicyText } from '../functions/lib/policy/load-file.js'
import { sharedCoordination } from '../functions/lib/deploys/coordination.js'
import type { SharedState } from '../functions/lib/state/index.js'
import { RATE_LIMITS } from '../functions/lib/state/rate-limit.js'
import { staticSecret } from '../functions/lib/secrets/source.js'
import { functionForPath, type FunctionName } from '../functions/routes.js'
import { createLocalStatus } from '../functions/status/local-setup.js'
import { createFunctionApps } from './function-apps.js'
import { CI_PROVIDERS, type CiProvider, type LocalOidcIssuer } from './oidc/index.js'

/** What @hono/node-server passes as env: the raw request (for its peer address). */
export interface NodeServerBindings {
  incoming?: { socket?: { remoteAddress?: string } }
}

export const LOCAL_KEY_NAME = 'local'
export const LOCAL_AUDIENCE = 'githosted-ci-broker'

export interface LocalBrokerOptions {
  githostedUrl: string
  /** A write gw_ token for the local workspace (the bootstrap token). */
  workspaceToken: string
  /** The local issuer (or, in a broker process, its URLs and a remote `mint`). */
  oidc: Pick<LocalOidcIssuer, 'policyIssuerUrls' | 'mint'>
  policyFile: string
  /** The shared state table (dynalite locally), as on Lambda: every broker process of one `npm start` shares it. */
  state: SharedState
  /** The broker key every process accepts; generated when not given. */
  brokerKey?: string
  logger?: Logger
}

export interface LocalBroker {
  /** Serves every broker route (plus /_local/id-token for trying OIDC by hand). */
  fetch: (request: Request, env?: NodeServerBindings) => Response | Promise<Response>
  /** Shown once to the human at the terminal. */
  brokerKey: string
  /** `<baseUrl>/?key=<viewer credential>`: opens the dashboard as is. */
  dashboardUrl(baseUrl: string): string
}

/** Builds the local broker; mints its own read-only dashboard token. */
export async function createLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  const logger = options.logger ?? createLogger({ base: { app: 'local-broker' } })
  const githosted: GithostedClientFactory = (token) => new Client({ token, baseUrl: options.githostedUrl })
  // The local issuers' real URLs go to the issuers the policy names (a --policy file may name none of them).
  const document = parsePolicyText(readFileSync(options.policyFile, 'utf8'), options.policyFile) as { issuers?: Record<string, unknown> }
  const issuerUrls = Object.fromEntries(Object.entries(options.oidc.policyIssuerUrls).filter(([name]) => name in (document?.issuers ?? {})))
  const policy = loadPolicyFile(options.policyFile, { issuerUrls })

  const brokerKey = options.brokerKey ?? generateBrokerKey()
  const { state } = options
  const authenticator = createAuthenticator({
    oidc: { issuers: policy.issuers, audience: LOCAL_AUDIENCE },
    brokerKeys: () => [{ name: LOCAL_KEY_NAME, sha256: hashBrokerKey(brokerKey) }],
    replayStore: state.replay(),
    logger,
  })

  // The dashboard reads with its own read-only repo token, as in production.
  const status = await createLocalStatus({
    githostedUrl: options.githostedUrl,
    workspaceToken: options.workspaceToken,
    authenticator,
    policy,
    logger: logger.child({ fn: 'status' }),
    limits: { rateLimiter: state.rateLimiter(RATE_LIMITS.status), ipRateLimiter: state.sourceIpLimiter() },
  })

  const apps: Record<FunctionName, { fetch: (request: Request, env?: { remoteAddress?: string }) => Response | Promise<Response> }> = {
    // The same limits and stores as the Lambda functions (functions/*/deps.ts).
    ...createFunctionApps({
      authenticator,
      policy,
      workspaceToken: staticSecret(options.workspaceToken),
      githosted,
      logger,
      limits: { token: state.rateLimiter(RATE_LIMITS.token), deploy: state.rateLimiter(RATE_LIMITS.deploy), sourceIp: state.sourceIpLimiter() },
      ownership: state.ownership(),
      coordination: sharedCoordination(state),
    }),
    status: status.app,
  }

  const router = new Hono<{ Bindings: NodeServerBindings | undefined }>()
  // Local only: a test ID token shaped like the named CI's, so the OIDC flow (and its denials) can be tried by hand.
  router.get('/_local/id-token', async (c) => {
    const provider = (c.req.query('provider') ?? 'github') as CiProvider
    if (!CI_PROVIDERS.includes(provider)) {
      return c.text(`provider must be one of ${CI_PROVIDERS.join(', ')}\n`, 400)
    }
    // claim.NAME=VALUE overrides one claim (try a denial: claim.ref=refs/heads/feature); a bare claim.NAME= removes it.
    const claims: Record<string, unknown> = {}
    for (const [name, value] of new URL(c.req.url).searchParams) {
      if (name.startsWith('claim.') && name.length > 6) claims[name.slice(6)] = value === '' ? undefined : value
    }
    return c.text(await options.oidc.mint(provider, { claims }))
  })
  router.all('*', (c) => {
    // Every path has a function (the status function is the catch-all), as in API Gateway. The peer
    // address goes along as API Gateway passes sourceIp: the per-address limit applies locally too.
    return apps[functionForPath(c.req.path) ?? 'status'].fetch(c.req.raw, { remoteAddress: c.env?.incoming?.socket?.remoteAddress })
  })

  return { fetch: (request, env) => router.fetch(request, env), brokerKey, dashboardUrl: status.dashboardUrl }
}
