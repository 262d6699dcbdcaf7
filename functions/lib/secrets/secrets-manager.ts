/**
 * Reads a secret from AWS Secrets Manager (GetSecretValue). The SDK is
 * imported lazily on the first fetch so that neither its evaluation cost nor
 * any network call lands in the Lambda INIT phase.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { ConfigError, DependencyUnavailableError } from '../errors.js'
import { secretValue } from './secret-value.js'
import type { SecretFetcher } from './source.js'

export interface SecretsManagerFetcherOptions {
  /** Human label for error messages, e.g. 'workspace token'. Never the value. */
  label?: string
  /** When the SecretString is JSON, return this key's (string) value instead of the whole string. */
  jsonKey?: string
}

// Errors that a retry will not fix: the ARN or the IAM policy is wrong.
const CONFIG_FAILURES = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDeniedFault',
  'DecryptionFailure',
  'InvalidRequestException',
])

/**
 * A fetcher for `createCachedSecret`. `client` may be an SDK client (tests
 * pass one and mock it) or a factory that builds it on first use.
 * Failures become DependencyUnavailableError (503) or, for
 * misconfiguration, ConfigError (500); messages name the label and the AWS
 * error name, never the value.
 */
export function secretsManagerFetcher(
  client: SecretsManagerClient | (() => SecretsManagerClient | Promise<SecretsManagerClient>),
  secretId: string,
  options: SecretsManagerFetcherOptions = {},
): SecretFetcher {
  const label = options.label ?? 'secret'
  let resolved: SecretsManagerClient | undefined
  return async () => {
    const sdk = await import('@aws-sdk/client-secrets-manager')
    resolved ??= typeof client === 'function' ? await client() : client
    let out: { SecretString?: string | undefined }
    try {
      out = await resolved.send(new sdk.GetSecretValueCommand({ SecretId: secretId }))
    } catch (err) {
      const name = err instanceof Error ? err.name : 'UnknownError'
      if (CONFIG_FAILURES.has(name)) {
        throw new ConfigError(
          `Secrets Manager refused to return the ${label} (${name}); check the secret ARN and the function's IAM permissions.`,
        )
      }
      throw new DependencyUnavailableError(
        `Secrets Manager is unavailable; could not read the ${label} (${name}). Retry shortly.`,
      )
    }
    return secretValue(out.SecretString, label, options.jsonKey)
  }
}
