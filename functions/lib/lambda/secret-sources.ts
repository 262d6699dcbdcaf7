/**
 * Secret sources for a Lambda container, read one of two ways (SECRETS_SOURCE):
 *
 * - `extension` (what the stack deploys): the AWS Parameters and Secrets
 *   Lambda Extension over a local HTTP call. No AWS SDK is loaded at all,
 *   which takes its import off the first request of a cold container.
 * - unset or `sdk` (local runs, tests, benchmarks without the extension):
 *   Secrets Manager's GetSecretValue through the SDK, imported and its client
 *   built on the first secret read, never at module load; every source of a
 *   container shares that one client.
 *
 * Either way values sit in the broker's own per-container cache for
 * SECRET_CACHE_TTL_SECONDS, and nothing is fetched at module load.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { ConfigError } from '../errors.js'
import { extensionFetcher } from '../secrets/extension.js'
import { secretsManagerFetcher } from '../secrets/secrets-manager.js'
import { createCachedSecret, type SecretFetcher, type SecretSource } from '../secrets/source.js'
import { envVars, type Env } from './config.js'

/** Builds (or returns) the Secrets Manager client to use. */
export type SecretsManagerProvider = () => SecretsManagerClient | Promise<SecretsManagerClient>

/** Makes a cached source for a secret ARN; `label` names it in errors (never the value). */
export type SecretSourceFactory = (arn: string, label: string) => SecretSource

/** How secrets are read: SECRETS_SOURCE. */
export type SecretsSourceKind = 'extension' | 'sdk'

/** SECRETS_SOURCE: `extension`, or `sdk` (the default); anything else is a ConfigError. */
export function secretsSourceKind(env: Env): SecretsSourceKind {
  const value = envVars(env).optional('SECRETS_SOURCE') ?? 'sdk'
  if (value !== 'extension' && value !== 'sdk') {
    throw new ConfigError("SECRETS_SOURCE must be 'extension' or 'sdk'.")
  }
  return value
}

/**
 * Cached sources that each serve a value for `ttlMs`, read the way `env`'s
 * SECRETS_SOURCE says. `secretsManager` replaces the default SDK client
 * (SDK defaults from the environment); the extension mode never builds one.
 */
export function secretSources(
  ttlMs: number,
  secretsManager?: SecretsManagerProvider,
  env: Env = {},
): SecretSourceFactory {
  let fetcher: (arn: string, label: string) => SecretFetcher
  if (secretsSourceKind(env) === 'extension') {
    // The port and the session token are read from `env` on each fetch, during INVOKE.
    fetcher = (arn, label) => extensionFetcher(arn, { label, env })
  } else {
    let client: Promise<SecretsManagerClient> | undefined
    const sm = () =>
      (client ??= secretsManager
        ? Promise.resolve(secretsManager())
        : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
    fetcher = (arn, label) => secretsManagerFetcher(sm, arn, { label })
  }
  return (arn, label) => createCachedSecret(fetcher(arn, label), { ttlMs })
}
