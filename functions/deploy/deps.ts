/**
 * Builds the deploy app's dependencies from the Lambda environment
 * (notes/ENV-CONTRACT.md: the same variables as the token function).
 * Nothing here touches the network: secrets and JWKS are fetched on first
 * use. A missing variable is a ConfigError naming it (a 500 problem).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createAuditor } from '../lib/audit/audit.js'
import { createLogger, type Logger } from '../lib/audit/logger.js'
import { createAuthenticator } from '../lib/auth/authenticator.js'
import { parseStoredKeys, type StoredKey } from '../lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../lib/auth/replay.js'
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import { ConfigError } from '../lib/errors.js'
import { Client } from '../lib/githosted/index.js'
import type { GithostedClient, GithostedClientFactory } from '../lib/githosted/types.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { createCachedSecret, type SecretSource } from '../lib/secrets/source.js'
import { secretsManagerFetcher } from '../lib/secrets/secrets-manager.js'
import { readTokenConfig, type Env } from '../token/deps.js'
import type { DeployAppDeps } from './app.js'

export interface BuildOptions {
  logger?: Logger
  secretsManager?: () => SecretsManagerClient | Promise<SecretsManagerClient>
}

export function buildDeployDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): DeployAppDeps {
  // Same variables and checks as the token function (ENV-CONTRACT.md lists them together).
  const config = readTokenConfig(env, policy)
  const logger = options.logger ?? createLogger({ base: { fn: 'deploy' } })
  let smClient: Promise<SecretsManagerClient> | undefined
  const sm = () =>
    (smClient ??= options.secretsManager
      ? Promise.resolve(options.secretsManager())
      : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
  const cached = (arn: string, label: string): SecretSource =>
    createCachedSecret(secretsManagerFetcher(sm, arn, { label }), { ttlMs: config.secretCacheTtlMs })

  const brokerKeys = config.brokerKeysSecretArn ? parsedKeys(cached(config.brokerKeysSecretArn, 'broker keys')) : undefined
  return {
    authenticator: createAuthenticator({
      ...(config.oidcAudience ? { oidc: { issuers: policy.issuers, audience: config.oidcAudience } } : {}),
      ...(brokerKeys ? { brokerKeys } : {}),
      // Purpose 'deploy' does not consume OIDC tokens, so no shared replay table is needed here.
      replayStore: new MemoryReplayStore(),
      logger,
    }),
    policy,
    repos: createScopedRepoProvider({
      workspaceToken: cached(config.workspaceTokenSecretArn, 'workspace token'),
      githosted: clientFactory(config.githostedUrl),
    }),
    logger,
    auditor: createAuditor(options.logger ?? createLogger({ level: 'info', base: { fn: 'deploy' } })),
  }
}

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

/** Clients per token: the workspace token plus a few cached scoped tokens. */
export function clientFactory(baseUrl: string, max = 20): GithostedClientFactory {
  const clients = new Map<string, GithostedClient>()
  return (token) => {
    let c = clients.get(token)
    if (!c) {
      c = new Client({ token, baseUrl, clientName: 'githosted-ci-broker' })
      clients.set(token, c)
      while (clients.size > max) clients.delete(clients.keys().next().value as string)
    }
    return c
  }
}
