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
import type { SecretSource } from '../secrets/source.js'
import type { EnvVars } from './env.js'

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
  /** Without it OIDC tokens are refused. */
  oidcAudience?: string | undefined
  /** The broker-keys secret; without it broker keys are refused. */
  brokerKeys?: SecretSource | undefined
  replayStore: ReplayStore
  logger: Logger
}

/** The authenticator for the policy's issuers and the stored broker keys. */
export function createCallerAuthenticator(options: CallerAuthOptions): Authenticator {
  const { policy, oidcAudience, brokerKeys } = options
  return createAuthenticator({
    ...(oidcAudience ? { oidc: { issuers: policy.issuers, audience: oidcAudience } } : {}),
    ...(brokerKeys ? { brokerKeys: storedKeysFromSecret(brokerKeys) } : {}),
    replayStore: options.replayStore,
    logger: options.logger,
  })
}
