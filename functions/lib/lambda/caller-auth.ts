/**
 * How the HTTP functions (token, deploy, status) authenticate their callers:
 * the authenticator built from their configuration (config.ts decides which
 * variables the policy makes mandatory).
 */
import type { Logger } from '../observability/logger.js'
import { createAuthenticator } from '../auth/authenticator.js'
import { storedKeysFromSecret } from '../auth/broker-keys-secret.js'
import type { ReplayStore } from '../auth/replay.js'
import type { Authenticator } from '../auth/types.js'
import type { LoadedPolicy } from '../policy/index.js'
import type { SecretSourceFactory } from './secret-sources.js'

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
