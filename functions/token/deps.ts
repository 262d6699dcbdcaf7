/**
 * Builds the token app's dependencies from the Lambda environment
 * (notes/ENV-CONTRACT.md). Nothing here touches the network: secrets, JWKS
 * and DynamoDB are reached on first use. A missing or malformed variable is
 * a ConfigError naming it, which the app answers as a 500 problem.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createAuditor } from '../lib/audit/audit.js'
import { createLogger, type Logger } from '../lib/audit/logger.js'
import { createAuthenticator } from '../lib/auth/authenticator.js'
import { parseStoredKeys, type StoredKey } from '../lib/auth/broker-keys.js'
import { MemoryReplayStore, type ReplayStore } from '../lib/auth/replay.js'
import { ConfigError } from '../lib/errors.js'
import { Client } from '../lib/githosted/index.js'
import type { GithostedClient, GithostedClientFactory } from '../lib/githosted/types.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { createCachedSecret, type SecretSource } from '../lib/secrets/source.js'
import { secretsManagerFetcher } from '../lib/secrets/secrets-manager.js'
import type { TokenAppDeps } from './app.js'

export type Env = Record<string, string | undefined>

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
  const get = (name: string) => {
    const v = env[name]?.trim()
    return v ? v : undefined
  }
  const required = (name: string, why: string) => {
    const v = get(name)
    if (!v) throw new ConfigError(`Missing environment variable ${name} (${why}).`)
    return v
  }
  const ttlText = get('SECRET_CACHE_TTL_SECONDS') ?? '300'
  const ttl = Number(ttlText)
  if (!/^\d+$/.test(ttlText) || ttl > 86_400) {
    throw new ConfigError('SECRET_CACHE_TTL_SECONDS must be a whole number of seconds between 0 and 86400.')
  }
  const githostedUrl = get('GITHOSTED_URL') ?? 'https://api.githosted.dev'
  if (!URL.canParse(githostedUrl)) throw new ConfigError('GITHOSTED_URL is not a URL.')
  const config: TokenConfig = {
    workspaceTokenSecretArn: required('WORKSPACE_TOKEN_SECRET_ARN', 'the secret holding the workspace token'),
    githostedUrl,
    secretCacheTtlMs: ttl * 1000,
  }
  if (policy.brokerKeyNames.length > 0) {
    config.brokerKeysSecretArn = required('BROKER_KEYS_SECRET_ARN', 'the policy has broker-key rules')
  } else {
    const arn = get('BROKER_KEYS_SECRET_ARN')
    if (arn) config.brokerKeysSecretArn = arn
  }
  if (policy.issuers.length > 0) {
    config.oidcAudience = required('OIDC_AUDIENCE', 'the policy trusts OIDC issuers')
  }
  const table = get('REPLAY_TABLE_NAME')
  if (table) config.replayTableName = table
  return config
}

export interface BuildOptions {
  logger?: Logger
  /** Secrets Manager client factory (tests point it elsewhere); default: SDK defaults from env. */
  secretsManager?: () => SecretsManagerClient | Promise<SecretsManagerClient>
}

/** Dependencies for createTokenApp, built from env and the compiled-in policy. */
export function buildTokenDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): TokenAppDeps {
  const config = readTokenConfig(env, policy)
  const logger = options.logger ?? createLogger({ base: { fn: 'token' } })
  let smClient: Promise<SecretsManagerClient> | undefined
  const sm = () =>
    (smClient ??= options.secretsManager
      ? Promise.resolve(options.secretsManager())
      : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
  const cached = (arn: string, label: string): SecretSource =>
    createCachedSecret(secretsManagerFetcher(sm, arn, { label }), { ttlMs: config.secretCacheTtlMs })

  const workspaceToken = cached(config.workspaceTokenSecretArn, 'workspace token')
  const brokerKeys = config.brokerKeysSecretArn ? parsedKeys(cached(config.brokerKeysSecretArn, 'broker keys')) : undefined

  return {
    authenticator: createAuthenticator({
      ...(config.oidcAudience ? { oidc: { issuers: policy.issuers, audience: config.oidcAudience } } : {}),
      ...(brokerKeys ? { brokerKeys } : {}),
      replayStore: config.replayTableName ? lazyDynamoReplayStore(config.replayTableName) : new MemoryReplayStore(),
      logger,
    }),
    policy,
    workspaceToken,
    githosted: clientFactory(config.githostedUrl),
    logger,
    // Audit lines are security records: LOG_LEVEL=warn must not drop them.
    auditor: createAuditor(options.logger ?? createLogger({ level: 'info', base: { fn: 'token' } })),
  }
}

/** Parses the broker keys secret once per fetched value. */
function parsedKeys(source: SecretSource): () => Promise<readonly StoredKey[]> {
  let raw: string | undefined
  let keys: readonly StoredKey[] = []
  return async () => {
    const value = await source.get()
    if (value !== raw) {
      let doc: unknown
      try {
        doc = JSON.parse(value)
      } catch {
        throw new ConfigError('The broker keys secret is not JSON ({"keys":[{"name","sha256"}]}).')
      }
      keys = parseStoredKeys(doc)
      raw = value
    }
    return keys
  }
}

/** One client per workspace token value (rotation yields a new one). */
function clientFactory(baseUrl: string): GithostedClientFactory {
  let last: { token: string; client: GithostedClient } | undefined
  return (token) => {
    if (last?.token !== token) last = { token, client: new Client({ token, baseUrl, clientName: 'githosted-ci-broker' }) }
    return last.client
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
