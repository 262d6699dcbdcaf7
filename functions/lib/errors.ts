/**
 * The one error hierarchy of the product. Every error a caller can see is an
 * `AppError` with a stable, machine-readable `code` (never renamed once
 * shipped) and the HTTP status the edge answers with. Messages are for humans
 * and must never contain a token, broker key or JWT: build them from ids,
 * slugs and fingerprints only.
 */
export abstract class AppError extends Error {
  /** Stable code, e.g. `GITHOSTED_STALE_HEAD`. Clients may switch on it. */
  abstract readonly code: string
  /** HTTP status the API edge answers with. */
  abstract readonly status: number

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }

  /** Extra fields safe to show to the caller (problem+json extension members). */
  details(): Record<string, unknown> {
    return {}
  }
}

/** Bad input: the caller can fix it. `field` names the offending field when known. */
export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED'
  readonly status = 400
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
  override details() {
    return this.field ? { field: this.field } : {}
  }
}

/** The caller could not be authenticated (no, bad, expired or replayed credential). */
export class AuthenticationError extends AppError {
  readonly code: string = 'UNAUTHENTICATED'
  readonly status = 401
}

/** Authenticated, but the policy does not allow this. `reason` says what would. */
export class ForbiddenError extends AppError {
  readonly code: string = 'FORBIDDEN'
  readonly status = 403
}

export class NotFoundAppError extends AppError {
  readonly code: string = 'NOT_FOUND'
  readonly status = 404
}

export class ConflictError extends AppError {
  readonly code: string = 'CONFLICT'
  readonly status = 409
}

export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED'
  readonly status = 429
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
  }
  override details() {
    return { retryAfterSeconds: this.retryAfterSeconds }
  }
}

/** A dependency we need (Secrets Manager, JWKS endpoint) is not reachable. */
export class DependencyUnavailableError extends AppError {
  readonly code: string = 'DEPENDENCY_UNAVAILABLE'
  readonly status = 503
}

/**
 * A dependency is busy or unavailable and the caller should simply try again
 * after `retryAfterSeconds` (answered with a Retry-After header). Nothing was
 * applied.
 */
export class RetryLaterError extends DependencyUnavailableError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
  override details(): Record<string, unknown> {
    return { retryAfterSeconds: this.retryAfterSeconds }
  }
}

/** Misconfiguration detected at load time (bad policy, missing env). Fails closed. */
export class ConfigError extends AppError {
  readonly code: string = 'CONFIG_INVALID'
  readonly status = 500
}
