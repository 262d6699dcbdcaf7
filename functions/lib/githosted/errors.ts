/**
 * Typed errors of the githosted client. Each one is an `AppError` with a
 * stable code, so the API edge can map it without knowing about Connect.
 *
 * Status choices: an upstream problem is OUR dependency failing, so the
 * default is 502. `unauthenticated` and `permission_denied` from githosted
 * also stay 502: the token the broker presents is the broker's own (or one it
 * minted), so the caller of the broker did nothing wrong and must not be told
 * "your credentials are bad". A caller that uses the client with its own
 * token should tell these apart by class, not by `status`.
 *
 * Messages are built from the procedure, the Connect code and the upstream
 * message passed through `redact()`; they never contain the token.
 *
 * One file past 300 lines on purpose: it is the one table of Connect codes
 * and their classes (one short class per code), and splitting it would put
 * the mapping and the classes it maps to in different places.
 */
import { AppError } from '../errors.js'

/**
 * Connect error codes (lower_snake, as on the wire), in numeric order: the
 * code numbered n (as connect-es reports it) is `CONNECT_CODE_NAMES[n - 1]`.
 * The one list of codes; everything else derives from it.
 */
export const CONNECT_CODE_NAMES = [
  'canceled',
  'unknown',
  'invalid_argument',
  'deadline_exceeded',
  'not_found',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'unavailable',
  'data_loss',
  'unauthenticated',
] as const

/** A Connect error code (lower_snake, as on the wire). */
export type ConnectCode = (typeof CONNECT_CODE_NAMES)[number]

export const CONNECT_CODES: ReadonlySet<string> = new Set<ConnectCode>(CONNECT_CODE_NAMES)

/** Where an error came from; every field is safe to log. */
export interface GithostedErrorInit {
  connectCode: ConnectCode
  /** `/githosted.v1.Service/Method`, or the client operation for client-detected errors. */
  procedure: string
  requestId?: string
  /** HTTP status of the upstream response; undefined when none arrived. */
  httpStatus?: number
  cause?: unknown
}

/**
 * Any failure talking to githosted. Abstract: each Connect code has its class
 * (and so its stable code, `GITHOSTED_<CONNECT_CODE>` unless noted), and
 * `githostedError` picks it; two more (StaleHead, RepoBusy) refine a code by
 * its error detail, and two (ExpectedHead*) are detected by the client itself.
 * `connectCode` is what the wire said; the class is what callers test.
 */
export abstract class GithostedError extends AppError {
  readonly status: number = 502
  readonly connectCode: ConnectCode
  readonly procedure: string
  readonly requestId: string | undefined
  readonly httpStatus: number | undefined

  constructor(message: string, init: GithostedErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.connectCode = init.connectCode
    this.procedure = init.procedure
    this.requestId = init.requestId
    this.httpStatus = init.httpStatus
  }

  override details(): Record<string, unknown> {
    return { upstreamCode: this.connectCode, requestId: this.requestId }
  }
}

/** The call was cancelled (by us: the caller's signal). */
export class GithostedCanceledError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_CANCELED'
}

/** githosted failed in a way it did not classify. */
export class GithostedUnknownError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_UNKNOWN'
}

/** githosted refused the request as malformed. */
export class InvalidArgumentError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_INVALID_ARGUMENT'
}

/** No answer within the per-call timeout (or the server's own deadline passed): `deadline_exceeded`. */
export class GithostedTimeoutError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_TIMEOUT'
  override readonly status = 504
}

/** Repo, ref or path does not exist. */
export class NotFoundError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_NOT_FOUND'
  override readonly status = 404
}

/** What was to be created exists already (a repo name, for example). */
export class AlreadyExistsError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_ALREADY_EXISTS'
}

/** The token is valid but may not do this. 502: see the module comment. */
export class PermissionDeniedError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_PERMISSION_DENIED'
}

/** A quota or size limit, githosted's or ours (an answer over the body cap). */
export class ResourceExhaustedError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_RESOURCE_EXHAUSTED'
}

/** `failed_precondition` without the StaleHead detail (that one is StaleHeadError). */
export class FailedPreconditionError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_FAILED_PRECONDITION'
}

/** `aborted` without the RepoBusy detail (that one is RepoBusyError). */
export class AbortedError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_ABORTED'
}

export class OutOfRangeError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_OUT_OF_RANGE'
}

/** The server does not implement the RPC (githosted today for ExchangeToken, for example). */
export class UnimplementedError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_UNIMPLEMENTED'
}

/** githosted failed internally, or answered something the client cannot read. */
export class GithostedInternalError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_INTERNAL'
}

/** githosted (or the network in front of it) is unavailable. */
export class GithostedUnavailableError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_UNAVAILABLE'
  override readonly status = 503
}

export class DataLossError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_DATA_LOSS'
}

/** githosted rejected the token (missing, expired, revoked). 502: see the module comment. */
export class UnauthenticatedError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_UNAUTHENTICATED'
}

type GithostedErrorClass = new (message: string, init: GithostedErrorInit) => GithostedError

const CLASS_BY_CONNECT_CODE: Record<ConnectCode, GithostedErrorClass> = {
  canceled: GithostedCanceledError,
  unknown: GithostedUnknownError,
  invalid_argument: InvalidArgumentError,
  deadline_exceeded: GithostedTimeoutError,
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  permission_denied: PermissionDeniedError,
  resource_exhausted: ResourceExhaustedError,
  failed_precondition: FailedPreconditionError,
  aborted: AbortedError,
  out_of_range: OutOfRangeError,
  unimplemented: UnimplementedError,
  internal: GithostedInternalError,
  unavailable: GithostedUnavailableError,
  data_loss: DataLossError,
  unauthenticated: UnauthenticatedError,
}

/** The error of `init.connectCode`'s class. */
export function githostedError(message: string, init: GithostedErrorInit): GithostedError {
  return new CLASS_BY_CONNECT_CODE[init.connectCode](message, init)
}

export interface StaleHeadInfo {
  repoId: string
  ref: string
  expectedHead: string
  actualHead: string
}

/** A write with `expectedHead` was refused because the branch moved. Nothing was written. */
export class StaleHeadError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_STALE_HEAD'
  override readonly status = 409
  readonly repoId: string
  readonly ref: string
  readonly expectedHead: string
  readonly actualHead: string

  constructor(message: string, init: GithostedErrorInit, info: StaleHeadInfo) {
    super(message, init)
    this.repoId = info.repoId
    this.ref = info.ref
    this.expectedHead = info.expectedHead
    this.actualHead = info.actualHead
  }

  override details() {
    return {
      ...super.details(),
      ref: this.ref,
      expectedHead: this.expectedHead,
      actualHead: this.actualHead,
    }
  }
}

/** Another writer holds the repo's lease. Nothing was written; retried automatically. */
export class RepoBusyError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_REPO_BUSY'
  override readonly status = 503
  readonly repoId: string
  readonly operation: string

  constructor(message: string, init: GithostedErrorInit, info: { repoId: string; operation: string }) {
    super(message, init)
    this.repoId = info.repoId
    this.operation = info.operation
  }
}

export interface ExpectedHeadViolationInfo {
  repoRef: string
  branch: string
  path: string
  expectedHead: string
  /** The parent of the commit the write created ('' if it has none). */
  actualParent: string
  /** The commit the write created: it IS on the branch. */
  commit: string
}

/**
 * Client-detected: the server ignored `expectedHead` and the write DID land on a
 * branch that had moved, so it may have clobbered a concurrent change. The
 * caller must repair (re-read at `commit`, re-apply what was lost).
 */
export class ExpectedHeadViolationError extends GithostedError {
  static override readonly code: string = 'GITHOSTED_EXPECTED_HEAD_VIOLATION'
  override readonly status: number = 409
  readonly repoRef: string
  readonly branch: string
  readonly path: string
  readonly expectedHead: string
  readonly actualParent: string
  readonly commit: string

  constructor(init: GithostedErrorInit, info: ExpectedHeadViolationInfo, message?: string) {
    super(
      message ??
        `write to ${info.repoRef}:${info.path} LANDED as commit ${info.commit} on top of ` +
          `${info.actualParent || '(no parent)'}, not the expected head ${info.expectedHead}: ` +
          'the server did not enforce expectedHead and a concurrent change may have been ' +
          'overwritten; repair from that commit',
      init,
    )
    this.repoRef = info.repoRef
    this.branch = info.branch
    this.path = info.path
    this.expectedHead = info.expectedHead
    this.actualParent = info.actualParent
    this.commit = info.commit
  }

  override details() {
    return {
      ...super.details(),
      expectedHead: this.expectedHead,
      actualParent: this.actualParent,
      commit: this.commit,
    }
  }
}

/**
 * Client-detected: the write LANDED as `commit`, but checking its parent
 * against `expectedHead` failed (the Log call errored). Treat it like a
 * violation: re-read and repair (a repair that finds nothing lost is a no-op).
 * `actualParent` is ''. The underlying failure is the `cause`.
 */
export class ExpectedHeadUnverifiedError extends ExpectedHeadViolationError {
  static override readonly code: string = 'GITHOSTED_EXPECTED_HEAD_UNVERIFIED'
  override readonly status = 502

  constructor(init: GithostedErrorInit, info: ExpectedHeadViolationInfo) {
    super(
      init,
      info,
      `write to ${info.repoRef}:${info.path} LANDED as commit ${info.commit}, but whether its ` +
        `parent is the expected head ${info.expectedHead} could not be checked ` +
        `(${init.connectCode}); re-read and repair from that commit`,
    )
  }
}
