/**
 * Builds the events function's dependencies from the Lambda environment:
 * WORKSPACE_TOKEN_SECRET_ARN, SECRET_CACHE_TTL_SECONDS, GITHOSTED_URL
 * (docs/env-contract.md). Nothing touches the network here.
 */
import { createLogger } from '../lib/audit/logger.js'
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { envVars, githostedUrl, secretCacheTtlMs, type Env } from '../lib/lambda/env.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { EventsDeps } from './app.js'
import type { DeployMapping } from './mapping.js'
import { sharedCoordination } from '../lib/deploys/coordination.js'
import { readStateConfig } from '../lib/state/index.js'
import { sharedStateFor } from '../lib/lambda/shared-state.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/env.js'

export function buildEventsDeps(env: Env, mapping: DeployMapping, options: BuildOptions = {}): EventsDeps {
  const vars = envVars(env)
  const arn = vars.required('WORKSPACE_TOKEN_SECRET_ARN', 'the secret holding the workspace token')
  const cached = secretSources(secretCacheTtlMs(vars), options.secretsManager, env)
  const state = sharedStateFor(readStateConfig(vars), env)
  return {
    mapping,
    coordination: sharedCoordination(state),
    repos: createScopedRepoProvider({
      workspaceToken: cached(arn, 'workspace token'),
      // The workspace token plus a few cached scoped tokens.
      githosted: cachedClientFactory(githostedUrl(vars), 20),
    }),
    logger: options.logger ?? createLogger({ base: { fn: 'events' } }),
  }
}
