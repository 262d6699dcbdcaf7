/**
 * What the token and deploy functions build the same way from their
 * environment: configuration, loggers, secret sources, the shared state
 * table, the caller authenticator and the two limiters. Each function's
 * deps.ts adds only what is its own (ownership records, or the deploy
 * coordination and scoped repos).
 */
import type { Auditor } from '../audit/audit.js'
import type { Logger } from '../observability/logger.js'
import type { Authenticator } from '../auth/types.js'
import type { RateLimiter } from '../limits/rate-limiter.js'
import type { LoadedPolicy } from '../policy/index.js'
import type { SharedState } from '../state/index.js'
import type { BuildOptions } from './build-options.js'
import { createCallerAuthenticator } from './caller-auth.js'
import { readLimits, readTokenConfig, type Env, type TokenConfig } from './config.js'
import { functionLoggers } from './loggers.js'
import { secretSources, type SecretSourceFactory } from './secret-sources.js'
import { sharedLimiters, sharedStateFor } from './shared-state.js'

export interface CallerFunctionBase {
  config: TokenConfig
  secrets: SecretSourceFactory
  state: SharedState
  /** Spread into the app's deps as they are. */
  deps: {
    authenticator: Authenticator
    policy: LoadedPolicy
    rateLimiter: RateLimiter
    ipRateLimiter: RateLimiter
    logger: Logger
    auditor: Auditor
  }
}

export function callerFunctionBase(fn: 'token' | 'deploy', env: Env, policy: LoadedPolicy, options: BuildOptions): CallerFunctionBase {
  const config = readTokenConfig(env, policy)
  const { logger, auditor } = functionLoggers(fn, options)
  const secrets = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const state = sharedStateFor(config.state, env)
  return {
    config,
    secrets,
    state,
    deps: {
      // A deploy does not consume OIDC tokens; its replay store is there for the interface.
      authenticator: createCallerAuthenticator({ policy, config, secrets, replayStore: state.replay(), logger }),
      policy,
      ...sharedLimiters(state, readLimits(env, fn)),
      logger,
      auditor,
    },
  }
}
