/**
 * Builds the token app's dependencies from the Lambda environment
 * (docs/env-contract.md). Nothing here touches the network: secrets, JWKS
 * and DynamoDB are reached on first use. A missing or malformed variable is
 * a ConfigError naming it, which the app answers as a 500 problem.
 */
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { callerFunctionBase } from '../lib/lambda/caller-function.js'
import type { Env } from '../lib/lambda/config.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import type { TokenAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/config.js'
export { readTokenConfig, type TokenConfig } from '../lib/lambda/config.js'

/** Dependencies for createTokenApp, built from env and the compiled-in policy. */
export function buildTokenDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): TokenAppDeps {
  const { config, secrets, state, deps } = callerFunctionBase('token', env, policy, options)
  return {
    ...deps,
    ownership: state.ownership(),
    workspaceToken: secrets(config.workspaceTokenSecretArn, 'workspace token'),
    // One client per workspace token value (rotation yields a new one).
    githosted: cachedClientFactory(config.githostedUrl, 1),
  }
}
