/**
 * Secrets Manager-backed secret sources for a Lambda container. The SDK is
 * imported and its client built on the first secret read, never at module
 * load, so neither lands in INIT; every source of a container shares that
 * one client.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createCachedSecret, type SecretSource } from '../secrets/source.js'
import { secretsManagerFetcher } from '../secrets/secrets-manager.js'

/** Builds (or returns) the Secrets Manager client to use. */
export type SecretsManagerProvider = () => SecretsManagerClient | Promise<SecretsManagerClient>

/** Makes a cached source for a secret ARN; `label` names it in errors (never the value). */
export type SecretSourceFactory = (arn: string, label: string) => SecretSource

/**
 * Cached sources that each serve a value for `ttlMs`. `secretsManager`
 * replaces the default client (SDK defaults from the environment).
 */
export function secretSources(ttlMs: number, secretsManager?: SecretsManagerProvider): SecretSourceFactory {
  let client: Promise<SecretsManagerClient> | undefined
  const sm = () =>
    (client ??= secretsManager
      ? Promise.resolve(secretsManager())
      : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
  return (arn, label) => createCachedSecret(secretsManagerFetcher(sm, arn, { label }), { ttlMs })
}
