/**
 * Builds the deploy app's dependencies from the Lambda environment
 * (docs/env-contract.md: the same variables as the token function).
 * Nothing here touches the network: secrets and JWKS are fetched on first
 * use. A missing variable is a ConfigError naming it (a 500 problem).
 */
import { sharedCoordination } from '../lib/deploys/coordination.js'
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { callerFunctionBase } from '../lib/lambda/caller-function.js'
import type { Env } from '../lib/lambda/config.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import type { DeployAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'

export function buildDeployDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): DeployAppDeps {
  const { config, secrets, state, deps } = callerFunctionBase('deploy', env, policy, options)
  return {
    ...deps,
    coordination: sharedCoordination(state),
    repos: createScopedRepoProvider({
      workspaceToken: secrets(config.workspaceTokenSecretArn, 'workspace token'),
      // The workspace token plus a few cached scoped tokens.
      githosted: cachedClientFactory(config.githostedUrl, 20),
    }),
  }
}
