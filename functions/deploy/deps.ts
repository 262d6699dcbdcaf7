/**
 * Builds the deploy app's dependencies from the Lambda environment
 * (docs/env-contract.md: the same variables as the token function).
 * Nothing here touches the network: secrets and JWKS are fetched on first
 * use. A missing variable is a ConfigError naming it (a 500 problem).
 */
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { createCallerAuthenticator } from '../lib/lambda/caller-auth.js'
import { readLimits, readTokenConfig, type Env } from '../lib/lambda/config.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import { functionLoggers } from '../lib/lambda/loggers.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { sharedCoordination } from '../lib/deploys/coordination.js'
import { sharedLimiters, sharedStateFor } from '../lib/lambda/shared-state.js'
import type { DeployAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'

export function buildDeployDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): DeployAppDeps {
  // Same variables and checks as the token function (docs/env-contract.md lists them together).
  const config = readTokenConfig(env, policy)
  const { logger, auditor } = functionLoggers('deploy', options)
  const cached = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const state = sharedStateFor(config.state, env)
  return {
    // Purpose 'deploy' does not consume OIDC tokens; the store is there for the interface.
    authenticator: createCallerAuthenticator({ policy, config, secrets: cached, replayStore: state.replay(), logger }),
    ...sharedLimiters(state, readLimits(env, 'deploy')),
    coordination: sharedCoordination(state),
    policy,
    repos: createScopedRepoProvider({
      workspaceToken: cached(config.workspaceTokenSecretArn, 'workspace token'),
      // The workspace token plus a few cached scoped tokens.
      githosted: cachedClientFactory(config.githostedUrl, 20),
    }),
    logger,
    auditor,
  }
}
