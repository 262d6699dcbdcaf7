/**
 * How the HTTP functions (token, deploy, status) authenticate their callers:
 * which variables the compiled-in policy makes mandatory, and the
 * authenticator built from them.
 */
import type { Logger } from '../audit/logger.js'
import { createAuthenticator } from '../auth/authenticator.js'
import { storedKeysFromSecret } from '../auth/broker-keys-secret.js'
import type { ReplayStore } from '../auth/replay.js'
import type { Authenticator } from '../auth/types.js'
import type { LoadedPolicy } from '../policy/index.js'
import type { EnvVars } from './env.js'
import type { SecretSourceFactory } from './secret-sources.js'

/** BROKER_KEYS_SECRET_ARN: required when the policy has broker-key rules, else used when set. */
export function brokerKeysSecretArn(vars: EnvVars, policy: LoadedPolicy): string | undefined {
  return policy.brokerKeyNames.length > 0
    ? vars.required('BROKER_KEYS_SECRET_ARN', 'the policy has broker-key rules')
    : vars.optional('BROKER_KEYS_SECRET_ARN')
}

/** OIDC_AUDIENCE when the policy trusts OIDC issuers (required then); undefined otherwise. */
export function requiredOidcAudience(vars: EnvVars, policy: LoadedPolicy): string | undefined {
  return policy.issuers.length > 0 ? vars.required('OIDC_AUDIENCE', 'the policy trusts OIDC issuers') : undefined
}

export interface CallerAuthOptions {
  policy: LoadedPolicy
  /** Read from the environment: without an audience OIDC tokens are refused, without the ARN broker keys. */
  config: { oidcAudience?: string | undefined; brokerKeysSecretArn?: string | undefined }
  secrets: SecretSourceFactory
  replayStore: ReplayStore
  logger: Logger
}

/** The authenticator for the policy's issuers and the stored broker keys. */
export function createCallerAuthenticator(options: CallerAuthOptions): Authenticator {
  const { policy, config } = options
  return createAuthenticator({
    ...(config.oidcAudience ? { oidc: { issuers: policy.issuers, audience: config.oidcAudience } } : {}),
    ...(config.brokerKeysSecretArn
      ? { brokerKeys: storedKeysFromSecret(options.secrets(config.brokerKeysSecretArn, 'broker keys')) }
      : {}),
    replayStore: options.replayStore,
    logger: options.logger,
  })
}
