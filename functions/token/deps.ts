/**
 * Builds the token app's dependencies from the Lambda environment
 * (notes/ENV-CONTRACT.md). Nothing here touches the network: secrets, JWKS
 * and DynamoDB are reached on first use. A missing or malformed variable is
 * a ConfigError naming it, which the app answers as a 500 problem.
 */
import { MemoryReplayStore, type ReplayStore } from '../lib/auth/replay.js'
import type { BuildOptions } from '../lib/lambda/build-options.js'
import { brokerKeysSecretArn, createCallerAuthenticator, requiredOidcAudience } from '../lib/lambda/caller-auth.js'
import { envVars, githostedUrl, secretCacheTtlMs, type Env } from '../lib/lambda/env.js'
import { cachedClientFactory } from '../lib/lambda/githosted-clients.js'
import { functionLoggers } from '../lib/lambda/loggers.js'
import { secretSources } from '../lib/lambda/secret-sources.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import type { TokenAppDeps } from './app.js'

export type { BuildOptions } from '../lib/lambda/build-options.js'
export type { Env } from '../lib/lambda/env.js'

export interface TokenConfig {
  workspaceTokenSecretArn: string
  brokerKeysSecretArn?: string
  oidcAudience?: string
  githostedUrl: string
  secretCacheTtlMs: number
  replayTableName?: string
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
  }
  const keys = brokerKeysSecretArn(vars, policy)
  if (keys) config.brokerKeysSecretArn = keys
  const audience = requiredOidcAudience(vars, policy)
  if (audience) config.oidcAudience = audience
  const table = vars.optional('REPLAY_TABLE_NAME')
  if (table) config.replayTableName = table
  return config
}

/** Dependencies for createTokenApp, built from env and the compiled-in policy. */
export function buildTokenDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): TokenAppDeps {
  const config = readTokenConfig(env, policy)
  const { logger, auditor } = functionLoggers('token', options)
  const cached = secretSources(config.secretCacheTtlMs, options.secretsManager, env)
  const replayStore = config.replayTableName ? lazyDynamoReplayStore(config.replayTableName) : new MemoryReplayStore()
  return {
    authenticator: createCallerAuthenticator({ policy, config, secrets: cached, replayStore, logger }),
    policy,
    workspaceToken: cached(config.workspaceTokenSecretArn, 'workspace token'),
    // One client per workspace token value (rotation yields a new one).
    githosted: cachedClientFactory(config.githostedUrl, 1),
    logger,
    auditor,
  }
}

/** DynamoDB replay store, with the SDK loaded on first use (keeps it out of INIT). */
function lazyDynamoReplayStore(tableName: string): ReplayStore {
  let store: Promise<ReplayStore> | undefined
  const get = () =>
    (store ??= Promise.all([import('@aws-sdk/client-dynamodb'), import('../lib/auth/replay-dynamodb.js')]).then(
      ([ddb, mod]) => new mod.DynamoDbReplayStore({ client: new ddb.DynamoDBClient({}), tableName }),
    ))
  return {
    claim: async (key, expiresAt) => (await get()).claim(key, expiresAt),
    release: async (key) => (await get()).release?.(key),
  }
}
