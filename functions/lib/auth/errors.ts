/**
 * Why authentication failed, as stable codes a client (or an operator reading
 * an audit line) can switch on. Messages are safe to show: they are built from
 * claim names, issuer URLs and key ids, never from the credential.
 */
import { AuthenticationError, DependencyUnavailableError } from '../errors.js'

/** A 401 with a specific, stable code: one subclass per reason below. */
export abstract class AuthFailedError extends AuthenticationError {}

/** No Authorization header, or an empty one. */
export class CredentialMissingError extends AuthFailedError {
  static override readonly code: string = 'CREDENTIAL_MISSING'
}

/** Not "Bearer <broker key or OIDC ID token>", or too long. */
export class CredentialMalformedError extends AuthFailedError {
  static override readonly code: string = 'CREDENTIAL_MALFORMED'
}

/** An unknown, revoked or malformed broker key, or one where broker keys are not accepted. */
export class BrokerKeyInvalidError extends AuthFailedError {
  static override readonly code: string = 'BROKER_KEY_INVALID'
}

/** Not a well-formed JWT (or one with extensions we do not understand). */
export class OidcMalformedError extends AuthFailedError {
  static override readonly code: string = 'OIDC_MALFORMED'
}

/** An issuer this broker does not trust. */
export class OidcUnknownIssuerError extends AuthFailedError {
  static override readonly code: string = 'OIDC_UNKNOWN_ISSUER'
}

/** A signing algorithm or key type outside the allowed list. */
export class OidcAlgNotAllowedError extends AuthFailedError {
  static override readonly code: string = 'OIDC_ALG_NOT_ALLOWED'
}

/** Signed with a key the issuer does not publish. */
export class OidcUnknownKeyError extends AuthFailedError {
  static override readonly code: string = 'OIDC_UNKNOWN_KEY'
}

/** The signature does not verify. */
export class OidcBadSignatureError extends AuthFailedError {
  static override readonly code: string = 'OIDC_BAD_SIGNATURE'
}

/** Past its `exp`. */
export class OidcExpiredError extends AuthFailedError {
  static override readonly code: string = 'OIDC_EXPIRED'
}

/** Before its `nbf`, or issued in the future. */
export class OidcNotYetValidError extends AuthFailedError {
  static override readonly code: string = 'OIDC_NOT_YET_VALID'
}

/** Issued longer ago than the maximum token age. */
export class OidcTooOldError extends AuthFailedError {
  static override readonly code: string = 'OIDC_TOO_OLD'
}

/** Not issued for this broker. */
export class OidcWrongAudienceError extends AuthFailedError {
  static override readonly code: string = 'OIDC_WRONG_AUDIENCE'
}

/** The `iss` does not match the issuer whose keys verified it. */
export class OidcWrongIssuerError extends AuthFailedError {
  static override readonly code: string = 'OIDC_WRONG_ISSUER'
}

/** A required claim is absent. */
export class OidcMissingClaimError extends AuthFailedError {
  static override readonly code: string = 'OIDC_MISSING_CLAIM'
}

/** A claim has an unusable value. */
export class OidcInvalidClaimError extends AuthFailedError {
  static override readonly code: string = 'OIDC_INVALID_CLAIM'
}

/** Already used to mint (single use per token). */
export class OidcReplayedError extends AuthFailedError {
  static override readonly code: string = 'OIDC_REPLAYED'
}

/** The issuer's discovery document or JWKS could not be fetched or parsed: 503, retryable. */
export class JwksUnavailableError extends DependencyUnavailableError {
  static override readonly code: string = 'OIDC_JWKS_UNAVAILABLE'
}

/** The replay store could not answer: authentication fails closed with a 503. */
export class ReplayStoreUnavailableError extends DependencyUnavailableError {
  static override readonly code: string = 'REPLAY_STORE_UNAVAILABLE'
}

/** The stored broker keys could not be loaded: fail closed with a 503. */
export class BrokerKeysUnavailableError extends DependencyUnavailableError {
  static override readonly code: string = 'BROKER_KEYS_UNAVAILABLE'
}
