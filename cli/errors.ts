/**
 * The CLI's failures, by exit code: a UsageError exits 2 (the command line
 * is wrong; nothing was sent), everything else exits 1 (refused or failed).
 */

/** Bad command line or configuration: exit 2, with the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Why a request never got an HTTP answer, named so a person can act on it. */
export type NetworkFailure = 'dns' | 'refused' | 'tls' | 'timeout' | 'reset' | 'network'

/** The broker (or the CI's OIDC endpoint) could not be reached at all. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'
  constructor(
    readonly failure: NetworkFailure,
    readonly url: string,
    message: string,
  ) {
    super(message)
  }

  /** DNS, refused and TLS failures do not heal within a retry window (nor do unknown ones); resets and timeouts may. */
  get retryable(): boolean {
    return this.failure === 'timeout' || this.failure === 'reset'
  }
}

/** The server answered with an error status; `code` is its problem code when it sent one. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export function exitCodeFor(err: unknown): 1 | 2 {
  return err instanceof UsageError ? 2 : 1
}
