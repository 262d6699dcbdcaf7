/**
 * Builds the events function's dependencies from the Lambda environment:
 * WORKSPACE_TOKEN_SECRET_ARN, SECRET_CACHE_TTL_SECONDS, GITHOSTED_URL
 * (docs/env-contract.md). Nothing touches the network here.
 */
import { createLogger } from '../lib/observability/logger.js'
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { envVars, readBaseConfig, readWorkspaceTokenArn, type Env } from '../lib/lambda/config.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { EventsDeps } from './app.js'
import type { DeployMapping } from './mapping.js'
import { sharedCoordination } from '../lib/deploys/coordination.js'
import { sharedStateFor } from '../lib/lambda/shared-state.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/config.js'

export function buildEventsDeps(env: Env, mapping: DeployMapping, options: BuildOptions = {}): EventsDeps {
  const vars = envVars(env)
  const arn = readWorkspaceTokenArn(vars)
  const config = readBaseConfig(vars)
  const cached = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const state = sharedStateFor(config.state, env)
  return {
    mapping,
    coordination: sharedCoordination(state),
    repos: createScopedRepoProvider({
      workspaceToken: cached(arn, 'workspace token'),
      // The workspace token plus a few cached scoped tokens.
      githosted: cachedClientFactory(config.githostedUrl, 20),
    }),
    logger: options.logger ?? createLogger({ base: { fn: 'events' } }),
  }
}
