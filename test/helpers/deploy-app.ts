/**
 * The deploy app as the deploy tests build it: broker keys (and optionally
 * the OIDC issuers) as the callers, write handles scoped through the test
 * githosted, and whatever the test adds or replaces.
 */
import { createDeployApp, type DeployAppDeps } from '../../functions/deploy/app.js'
import { createAuthenticator } from '../../functions/lib/auth/authenticator.js'
import { hashBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../functions/lib/auth/replay.js'
import type { OidcVerifierOptions } from '../../functions/lib/auth/oidc.js'
import { createScopedRepoProvider } from '../../functions/lib/deploys/scoped-repo.js'
import { Client } from '../../functions/lib/githosted/index.js'
import type { Logger } from '../../functions/lib/observability/logger.js'
import type { Policy } from '../../functions/lib/policy/types.js'
import { staticSecret } from '../../functions/lib/secrets/index.js'

export interface TestDeployAppOptions extends Partial<Omit<DeployAppDeps, 'authenticator' | 'repos' | 'policy' | 'logger'>> {
  gh: { url: string; bootstrapToken: string }
  policy: Policy
  logger: Logger
  /** Broker keys the app accepts, by the name the policy matches. */
  keys: Record<string, string>
  oidc?: OidcVerifierOptions
}

export function createTestDeployApp({ gh, policy, logger, keys, oidc, ...rest }: TestDeployAppOptions) {
  return createDeployApp({
    authenticator: createAuthenticator({
      ...(oidc ? { oidc } : {}),
      brokerKeys: () => Object.entries(keys).map(([name, key]) => ({ name, sha256: hashBrokerKey(key) })),
      replayStore: new MemoryReplayStore(),
      logger,
    }),
    policy,
    repos: createScopedRepoProvider({ workspaceToken: staticSecret(gh.bootstrapToken), githosted: (t) => new Client({ token: t, baseUrl: gh.url }) }),
    logger,
    ...rest,
  })
}
