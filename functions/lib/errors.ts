/**
 * The one error hierarchy of the product. Every error a caller can see is an
 * `AppError` with a stable, machine-readable `code` (never renamed once
 * shipped) and the HTTP status the edge answers with. Messages are for humans
 * and must never contain a token, broker key or JWT: build them from ids,
 * slugs and fingerprints only.
 *
 * The code belongs to the class, as in jose: each concrete class declares
 * `static override readonly code`, and every instance's `code` is its class's.
 * Code that needs to know what went wrong tests `err instanceof SomeError`
 * (or compares with `SomeError.code` where only the code is at hand, as in an
 * audit record), never a string literal; the strings are the wire contract.
 */
export abstract class AppError extends Error {
  /** The stable code of this class, e.g. `GITHOSTED_STALE_HEAD`. Every concrete class declares its own. */
  static readonly code: string
  /** This error's class's code. Clients may switch on it. */
  readonly code: string
  /** HTTP status the API edge answers with. */
  abstract readonly status: number

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = new.target.code
  }

  /** Extra fields safe to show to the caller (problem+json extension members). */
  details(): Record<string, unknown> {
    return {}
  }
}

/** Bad input: the caller can fix it. `field` names the offending field when known. */
export class ValidationError extends AppError {
  static override readonly code: string = 'VALIDATION_FAILED'
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
  static override readonly code: string = 'UNAUTHENTICATED'
  readonly status = 401
}

/** Authenticated, but the policy does not allow this. `reason` says what would. */
export class ForbiddenError extends AppError {
  static override readonly code: string = 'FORBIDDEN'
  readonly status = 403
}

export class NotFoundAppError extends AppError {
  static override readonly code: string = 'NOT_FOUND'
  readonly status = 404
}

export class ConflictError extends AppError {
  static override readonly code: string = 'CONFLICT'
  readonly status = 409
}

export class RateLimitedError extends AppError {
  static override readonly code: string = 'RATE_LIMITED'
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
  static override readonly code: string = 'DEPENDENCY_UNAVAILABLE'
  readonly status = 503
}

/**
 * A dependency is busy or unavailable and the caller should simply try again
 * after `retryAfterSeconds` (answered with a Retry-After header). Nothing was
 * applied.
 */
export class RetryLaterError extends DependencyUnavailableError {
  // The parent's code: to a client, "retry later" is one kind of unavailable.
  static override readonly code: string = 'DEPENDENCY_UNAVAILABLE'
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
  static override readonly code: string = 'CONFIG_INVALID'
  readonly status = 500
}
