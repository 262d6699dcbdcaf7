/**
 * Builds the status app's dependencies from the Lambda environment
 * (notes/ENV-CONTRACT.md, "status"). Nothing here touches the network:
 * secrets are read on first use. A missing or malformed variable is a
 * ConfigError naming it, which the handler answers as a 500 problem.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createLogger, type Logger } from '../lib/audit/logger.js'
import { createAuthenticator } from '../lib/auth/authenticator.js'
import { parseStoredKeys, type StoredKey } from '../lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../lib/auth/replay.js'
import { ConfigError } from '../lib/errors.js'
import { Client } from '../lib/githosted/index.js'
import type { GithostedClientFactory } from '../lib/githosted/types.js'
import type { LoadedPolicy } from '../lib/policy/index.js'
import { createCachedSecret, secretsManagerFetcher, type SecretSource } from '../lib/secrets/index.js'
import { createViewerAccess } from '../lib/status/viewer-access.js'
import { DEFAULT_STATUS_REPO, type StatusAppDeps } from './app.js'

export type Env = Record<string, string | undefined>

export interface StatusConfig {
  dashboardTokenSecretArn: string
  brokerKeysSecretArn?: string
  oidcAudience?: string
  viewerCredentialSecretArn?: string
  repo: string
  githostedUrl: string
  secretCacheTtlMs: number
}

/** Reads and checks the environment; messages name the variable, never a value. */
export function readStatusConfig(env: Env, policy: LoadedPolicy): StatusConfig {
  const get = (name: string) => env[name]?.trim() || undefined
  const required = (name: string, why: string) => {
    const v = get(name)
    if (!v) throw new ConfigError(`Missing environment variable ${name} (${why}).`)
    return v
  }
  const ttlText = get('SECRET_CACHE_TTL_SECONDS') ?? '300'
  if (!/^\d+$/.test(ttlText) || Number(ttlText) > 86_400) {
    throw new ConfigError('SECRET_CACHE_TTL_SECONDS must be a whole number of seconds between 0 and 86400.')
  }
  const githostedUrl = get('GITHOSTED_URL') ?? 'https://api.githosted.dev'
  if (!URL.canParse(githostedUrl)) throw new ConfigError('GITHOSTED_URL is not a URL.')
  const repo = get('STATUS_REPO') ?? DEFAULT_STATUS_REPO
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(repo)) throw new ConfigError('STATUS_REPO is not a repo slug.')
  const config: StatusConfig = {
    dashboardTokenSecretArn: required('DASHBOARD_TOKEN_SECRET_ARN', 'the secret holding the read-only gr_ token'),
    repo,
    githostedUrl,
    secretCacheTtlMs: Number(ttlText) * 1000,
  }
  const keys = get('BROKER_KEYS_SECRET_ARN')
  if (keys) config.brokerKeysSecretArn = keys
  else if (policy.brokerKeyNames.length > 0) required('BROKER_KEYS_SECRET_ARN', 'the policy has broker-key rules')
  const audience = get('OIDC_AUDIENCE')
  if (audience) config.oidcAudience = audience
  else if (policy.issuers.length > 0) required('OIDC_AUDIENCE', 'the policy trusts OIDC issuers')
  // Optional: without it the dashboard page stays closed (the JSON API still works).
  const viewer = get('VIEWER_CREDENTIAL_SECRET_ARN')
  if (viewer) config.viewerCredentialSecretArn = viewer
  return config
}

export interface BuildOptions {
  logger?: Logger
  /** Secrets Manager client factory (tests point it elsewhere); default: SDK defaults from env. */
  secretsManager?: () => SecretsManagerClient | Promise<SecretsManagerClient>
}

/** Dependencies for createStatusApp, built from env and the compiled-in policy. */
export function buildStatusDeps(env: Env, policy: LoadedPolicy, options: BuildOptions = {}): StatusAppDeps {
  const config = readStatusConfig(env, policy)
  const logger = options.logger ?? createLogger({ base: { fn: 'status' } })
  let smClient: Promise<SecretsManagerClient> | undefined
  const sm = () =>
    (smClient ??= options.secretsManager
      ? Promise.resolve(options.secretsManager())
      : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
  const cached = (arn: string, label: string): SecretSource =>
    createCachedSecret(secretsManagerFetcher(sm, arn, { label }), { ttlMs: config.secretCacheTtlMs })

  const brokerKeys = config.brokerKeysSecretArn ? parsedKeys(cached(config.brokerKeysSecretArn, 'broker keys')) : undefined
  const deps: StatusAppDeps = {
    readToken: cached(config.dashboardTokenSecretArn, 'dashboard read token'),
    githosted: readClientFactory(config.githostedUrl),
    authenticator: createAuthenticator({
      ...(config.oidcAudience ? { oidc: { issuers: policy.issuers, audience: config.oidcAudience } } : {}),
      ...(brokerKeys ? { brokerKeys } : {}),
      // Reads never consume an OIDC token; the store is required by the type only.
      replayStore: new MemoryReplayStore(),
      logger,
    }),
    policy,
    repo: config.repo,
    logger,
  }
  if (config.viewerCredentialSecretArn) {
    deps.viewer = createViewerAccess({ hash: cached(config.viewerCredentialSecretArn, 'viewer credential hash') })
  }
  return deps
}

/** The status function's client: identifies itself, so githosted's logs tell dashboard reads apart. */
export function readClientFactory(baseUrl: string, fetchImpl?: typeof fetch): GithostedClientFactory {
  return (token) =>
    new Client({ token, baseUrl, clientName: 'githosted-ci-broker-status', ...(fetchImpl ? { fetch: fetchImpl } : {}) })
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
