/**
 * Builds the token app's dependencies from the Lambda environment
 * (docs/env-contract.md). Nothing here touches the network: secrets, JWKS
 * and DynamoDB are reached on first use. A missing or malformed variable is
 * a ConfigError naming it, which the app answers as a 500 problem.
 */
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { brokerKeysSecretArn, createCallerAuthenticator, requiredOidcAudience } from '../lib/lambda/caller-auth.js'
import { envVars, githostedUrl, perMinuteLimit, secretCacheTtlMs, type Env } from '../lib/lambda/env.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import { functionLoggers } from '../lib/lambda/loggers.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { readStateConfig, type StateConfig } from '../lib/state/index.js'
import { sharedStateFor } from '../lib/lambda/shared-state.js'
import { RATE_LIMITS } from '../lib/state/rate-limit.js'
import type { TokenAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/env.js'

export interface TokenConfig {
  workspaceTokenSecretArn: string
  brokerKeysSecretArn?: string
  oidcAudience?: string
  githostedUrl: string
  secretCacheTtlMs: number
  state: StateConfig
}

/** Reads and checks the environment; messages name the variable, never a value. */
export function readTokenConfig(env: Env, policy: LoadedPolicy): TokenConfig {
  const vars = envVars(env)
  const ttlMs = secretCacheTtlMs(vars)
  const url = githostedUrl(vars)
  const config: TokenConfig = {
    workspaceTokenSecretArn: vars.required('WORKSPACE_TOKEN_SECRET_ARN', 'the secret holding the workspace token'),
    githostedUrl: url,
    secretCacheTtlMs: ttlMs,
    state: readStateConfig(vars),
  }
  const keys = brokerKeysSecretArn(vars, policy)
  if (keys) config.brokerKeysSecretArn = keys
  const audience = requiredOidcAudience(vars, policy)
  if (audience) config.oidcAudience = audience
  return config
}

/** Dependencies for createTokenApp, built from env and the compiled-in policy. */
export function buildTokenDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): TokenAppDeps {
  const config = readTokenConfig(env, policy)
  const { logger, auditor } = functionLoggers('token', options)
  const cached = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const state = sharedStateFor(config.state, env)
  return {
    authenticator: createCallerAuthenticator({ policy, config, secrets: cached, replayStore: state.replay(), logger }),
    rateLimiter: state.rateLimiter({ ...RATE_LIMITS.token, limit: perMinuteLimit(envVars(env), 'TOKEN_RATE_LIMIT_PER_MINUTE', RATE_LIMITS.token.limit) }),
    ipRateLimiter: state.sourceIpLimiter(perMinuteLimit(envVars(env), 'SOURCE_IP_RATE_LIMIT_PER_MINUTE', RATE_LIMITS.sourceIp.limit)),
    ownership: state.ownership(),
    policy,
    workspaceToken: cached(config.workspaceTokenSecretArn, 'workspace token'),
    // One client per workspace token value (rotation yields a new one).
    githosted: cachedClientFactory(config.githostedUrl, 1),
    logger,
    auditor,
  }
}
