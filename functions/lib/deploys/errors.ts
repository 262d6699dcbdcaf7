/**
 * Deploy-specific errors (extending the one hierarchy in ../errors.ts) and
 * the recognition of the githosted client's errors the deploy core reacts
 * to. Recognition goes by `name`/`code` rather than `instanceof` so that the
 * core works with any client implementing the contract (and with fakes).
 */
import { ConflictError, DependencyUnavailableError } from '../errors.js'
import type { MergeConflict } from './merge.js'

/** Another writer changed a key we change to a different value since we read it. */
export class DeployConflictError extends ConflictError {
  override readonly code = 'DEPLOY_CONFLICT'
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
  override readonly code = 'ENVIRONMENT_HELD'
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
  override readonly code = 'IDEMPOTENCY_KEY_REUSED'
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
  override readonly code = 'CONFIG_FILE_INVALID'
}

/** Too many concurrent writers; the deploy made no lasting change of its own (or says which commit to check). */
export class DeployContentionError extends DependencyUnavailableError {
  override readonly code = 'DEPLOY_CONTENTION'
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

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined
}

/** githosted refused the write because the branch moved (server-side expectedHead). */
export function isStaleHead(err: unknown): boolean {
  return field(err, 'name') === 'StaleHeadError' || field(err, 'code') === 'GITHOSTED_STALE_HEAD'
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
  const name = field(err, 'name')
  const code = field(err, 'code')
  const known =
    name === 'ExpectedHeadViolationError' ||
    name === 'ExpectedHeadUnverifiedError' ||
    code === 'GITHOSTED_EXPECTED_HEAD_VIOLATION' ||
    code === 'GITHOSTED_EXPECTED_HEAD_UNVERIFIED'
  if (!known) return undefined
  const expectedHead = field(err, 'expectedHead')
  const actualParent = field(err, 'actualParent')
  const commit = field(err, 'commit')
  if (typeof expectedHead !== 'string' || typeof actualParent !== 'string' || typeof commit !== 'string') return undefined
  return { expectedHead, actualParent, commit }
}

/** githosted's per-repo write lease is taken (the client already retried a few times). Nothing landed. */
export function isRepoBusy(err: unknown): boolean {
  return field(err, 'name') === 'RepoBusyError' || field(err, 'code') === 'GITHOSTED_REPO_BUSY'
}

/** A missing repo, ref or file. */
export function isNotFound(err: unknown): boolean {
  const code = field(err, 'code')
  return (
    field(err, 'status') === 404 ||
    code === 'NOT_FOUND' ||
    code === 'not_found' ||
    code === 5 ||
    (typeof code === 'string' && code.endsWith('NOT_FOUND')) ||
    field(err, 'name') === 'NotFoundError'
  )
}

/** The server does not implement the RPC (githosted today for ExchangeToken, for example). */
export function isUnimplemented(err: unknown): boolean {
  const code = field(err, 'code')
  return code === 'unimplemented' || code === 12 || (typeof code === 'string' && code.endsWith('UNIMPLEMENTED'))
}
