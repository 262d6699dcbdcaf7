/**
 * Builds the status app's dependencies from the Lambda environment
 * (docs/env-contract.md, "status"). Nothing here touches the network:
 * secrets are read on first use. A missing or malformed variable is a
 * ConfigError naming it, which the handler answers as a 500 problem.
 */
import { createLogger } from '../lib/observability/logger.js'
import { Client } from '../lib/githosted/index.js'
import type { GithostedClientFactory } from '../lib/githosted/types.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { createCallerAuthenticator } from '../lib/lambda/caller-auth.js'
import { envVars, readLimits, readStatusConfig, type Env } from '../lib/lambda/config.js'
import { sharedLimiters, sharedStateFor } from '../lib/lambda/shared-state.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { createViewerAccess } from '../lib/status/viewer-access.js'
import type { StatusAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/config.js'

export { readStatusConfig, type StatusConfig } from '../lib/lambda/config.js'

/** Dependencies for createStatusApp, built from env and the compiled-in policy. */
export function buildStatusDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): StatusAppDeps {
  const config = readStatusConfig(env, policy)
  const logger = options.logger ?? createLogger({ base: { fn: 'status' } })
  const cached = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const state = sharedStateFor(config.state, env)
  const deps: StatusAppDeps = {
    // Limits counted across every container, as for the other functions.
    ...sharedLimiters(state, readLimits(env, 'status')),
    readToken: cached(config.dashboardTokenSecretArn, 'dashboard read token'),
    githosted: readClientFactory(config.githostedUrl),
    // Reads never consume an OIDC token; the replay store is there for the interface.
    authenticator: createCallerAuthenticator({ policy, config, secrets: cached, replayStore: state.replay(), logger }),
    policy,
    repo: config.repo,
    logger,
  }
  if (config.viewerCredentialSecretArn) {
    deps.viewer = createViewerAccess({ hash: cached(config.viewerCredentialSecretArn, 'viewer credential hash') })
  }
  // Optional: e.g. https://githosted.dev/acme/{repo}/commit/{sha}; without it commit ids are plain text.
  const commitUrlTemplate = envVars(env).optional('COMMIT_URL_TEMPLATE')
  if (commitUrlTemplate) deps.commitUrlTemplate = commitUrlTemplate
  return deps
}

/** The status function's client: identifies itself, so githosted's logs tell dashboard reads apart. */
export function readClientFactory(baseUrl: string, fetchImpl?: typeof fetch): GithostedClientFactory {
  return (token) =>
    new Client({ token, baseUrl, clientName: 'githosted-ci-broker-status', ...(fetchImpl ? { fetch: fetchImpl } : {}) })
}
