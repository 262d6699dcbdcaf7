/**
 * Deploy-specific errors (extending the one hierarchy in ../errors.ts) and
 * the githosted client's errors the deploy core reacts to, recognised by
 * their classes (test fakes throw the same classes).
 */
import { ConflictError, DependencyUnavailableError } from '../errors.js'
import { ExpectedHeadViolationError, NotFoundError, RepoBusyError, StaleHeadError, UnimplementedError } from '../githosted/errors.js'
import type { MergeConflict } from './merge.js'

/** Another writer changed a key we change to a different value since we read it. */
export class DeployConflictError extends ConflictError {
  static override readonly code: string = 'DEPLOY_CONFLICT'
  constructor(
    message: string,
    readonly conflicts: MergeConflict[],
    readonly theirCommit?: string,
  ) {
    super(message)
  }
  override details() {
    return { conflicts: this.conflicts, ...(this.theirCommit ? { theirCommit: this.theirCommit } : {}) }
  }
}

/** The environment is held (pinned) and the request did not (or may not) override it. */
export class EnvironmentHeldError extends ConflictError {
  static override readonly code: string = 'ENVIRONMENT_HELD'
  constructor(
    message: string,
    readonly hold: { reason?: string; by?: string; at?: string },
  ) {
    super(message)
  }
  override details() {
    return { hold: this.hold }
  }
}

/** The same idempotency key was used before for a different change. */
export class IdempotencyKeyReusedError extends ConflictError {
  static override readonly code: string = 'IDEMPOTENCY_KEY_REUSED'
  constructor(
    message: string,
    readonly commit: string,
  ) {
    super(message)
  }
  override details() {
    return { commit: this.commit }
  }
}

/** The config file in the repo cannot be edited as it is (invalid JSON, too large, unusable schema). */
export class ConfigFileInvalidError extends ConflictError {
  static override readonly code: string = 'CONFIG_FILE_INVALID'
}

/** Too many concurrent writers; the deploy made no lasting change of its own (or says which commit to check). */
export class DeployContentionError extends DependencyUnavailableError {
  static override readonly code: string = 'DEPLOY_CONTENTION'
}

/** The 409 for a same-key conflict: it names the first key and both values, so the caller can decide. */
export function deployConflictError(path: string, conflicts: MergeConflict[], theirCommit: string | undefined): DeployConflictError {
  const c = conflicts[0]!
  const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more key(s))` : ''
  return new DeployConflictError(
    `Conflict in ${path}: another deploy${theirCommit ? ` (${theirCommit.slice(0, 12)})` : ''} changed ${c.pointer} to ${JSON.stringify(c.theirs ?? null)} while this one was setting it to ${JSON.stringify(c.ours ?? null)}${more}. Nothing of this change was kept; read the current value and retry if it should still apply.`,
    conflicts,
    theirCommit,
  )
}

/** githosted refused the write because the branch moved (server-side expectedHead). */
export function isStaleHead(err: unknown): err is StaleHeadError {
  return err instanceof StaleHeadError
}

export interface ExpectedHeadViolation {
  expectedHead: string
  actualParent: string
  commit: string
}

/**
 * The client's after-the-fact check: the write landed, but on top of
 * `actualParent` rather than `expectedHead` (a server that ignores
 * expectedHead). Returns the three commits, or undefined for other errors.
 * `actualParent` is '' when the client could not check (the caller looks it up).
 */
export function asExpectedHeadViolation(err: unknown): ExpectedHeadViolation | undefined {
  if (!(err instanceof ExpectedHeadViolationError)) return undefined
  return { expectedHead: err.expectedHead, actualParent: err.actualParent, commit: err.commit }
}

/** githosted's per-repo write lease is taken (the client already retried a few times). Nothing landed. */
export function isRepoBusy(err: unknown): err is RepoBusyError {
  return err instanceof RepoBusyError
}

/** A missing repo, ref or file. */
export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError
}

/** The server does not implement the RPC (githosted today for ExchangeToken, for example). */
export function isUnimplemented(err: unknown): err is UnimplementedError {
  return err instanceof UnimplementedError
}
