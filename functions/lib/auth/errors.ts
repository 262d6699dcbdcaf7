/**
 * Why authentication failed, as stable codes a client (or an operator reading
 * an audit line) can switch on. Messages are safe to show: they are built from
 * claim names, issuer URLs and key ids, never from the credential.
 */
import { AuthenticationError, DependencyUnavailableError } from '../errors.js'

export type AuthFailureCode =
  | 'CREDENTIAL_MISSING'
  | 'CREDENTIAL_MALFORMED'
  | 'BROKER_KEY_INVALID'
  | 'OIDC_MALFORMED'
  | 'OIDC_UNKNOWN_ISSUER'
  | 'OIDC_ALG_NOT_ALLOWED'
  | 'OIDC_UNKNOWN_KEY'
  | 'OIDC_BAD_SIGNATURE'
  | 'OIDC_EXPIRED'
  | 'OIDC_NOT_YET_VALID'
  | 'OIDC_TOO_OLD'
  | 'OIDC_WRONG_AUDIENCE'
  | 'OIDC_WRONG_ISSUER'
  | 'OIDC_MISSING_CLAIM'
  | 'OIDC_INVALID_CLAIM'
  | 'OIDC_REPLAYED'

/** A 401 with a specific, stable code (see {@link AuthFailureCode}). */
export class AuthFailedError extends AuthenticationError {
  constructor(
    override readonly code: AuthFailureCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The issuer's discovery document or JWKS could not be fetched or parsed: 503, retryable. */
export class JwksUnavailableError extends DependencyUnavailableError {
  override readonly code = 'OIDC_JWKS_UNAVAILABLE'
}

/** The replay store could not answer: authentication fails closed with a 503. */
export class ReplayStoreUnavailableError extends DependencyUnavailableError {
  override readonly code = 'REPLAY_STORE_UNAVAILABLE'
}

/** The stored broker keys could not be loaded: fail closed with a 503. */
export class BrokerKeysUnavailableError extends DependencyUnavailableError {
  override readonly code = 'BROKER_KEYS_UNAVAILABLE'
}
