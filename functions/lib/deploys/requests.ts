/**
 * Body validation for the deploy endpoints. Only shape is checked here; the
 * deploy core checks values (environment names, pointers, sizes) again,
 * because events and scripts reach it without going through HTTP.
 */
import { ValidationError } from '../errors.js'
import type { ConfigChange } from './change.js'
import { validateEnvironmentName, validateRepoRef } from './change.js'
import { rejectUnknownFields } from '../edge/body.js'
import { checkDigest } from './digest.js'
import { checkName } from './verify.js'

export interface DeployBody {
  repo: string
  environment: string
  change: ConfigChange
  /** With `image`: the image's digest, written next to it (lib/deploys/digest.ts). */
  digest?: string
  idempotencyKey?: string
  dryRun: boolean
  overrideHold: boolean
  reason?: string
}

export interface RollbackBody {
  repo: string
  environment: string
  /** A commit sha (7-40 hex) whose value to restore; undefined = the previous deploy. */
  to?: string
  /** Keys to roll back; default the image pointer. */
  keys?: string[]
  idempotencyKey?: string
  dryRun: boolean
  overrideHold: boolean
  reason?: string
}

export interface HoldBody {
  repo: string
  environment: string
  reason: string
}

export interface ReleaseQuery {
  repo: string
  environment: string
  reason?: string
}

/** Hold reasons go into a commit subject: one line, no control characters. */
const MAX_REASON = 500
const CONTROL_RE = /[\u0000-\u001f\u007f\u2028\u2029]/

function holdReason(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ValidationError(`${field} is required: say why in 1-${MAX_REASON} characters on one line.`, field)
  const reason = v.trim()
  if (reason.length > MAX_REASON) throw new ValidationError(`${field} must be at most ${MAX_REASON} characters.`, field)
  if (CONTROL_RE.test(reason)) throw new ValidationError(`${field} must be a single line without control characters.`, field)
  return reason
}

function optionalString(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '' || v.length > max) throw new ValidationError(`${field} must be a string of 1-${max} characters.`, field)
  return v
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw new ValidationError(`${field} must be true or false.`, field)
  return v
}

/** `{repo, environment, image | set, idempotencyKey?, dryRun?, overrideHold?, reason?}` */
export function parseDeployBody(fields: Record<string, unknown>, idempotencyHeader?: string): DeployBody {
  rejectUnknownFields(fields, ['repo', 'environment', 'image', 'set', 'digest', 'idempotencyKey', 'dryRun', 'overrideHold', 'reason'])
  const repo = validateRepoRef(fields.repo)
  const environment = validateEnvironmentName(fields.environment)
  const hasImage = fields.image !== undefined
  const hasSet = fields.set !== undefined
  if (hasImage === hasSet) throw new ValidationError('Give exactly one of image or set.', hasImage ? 'set' : 'image')
  const change = (hasImage ? { image: fields.image } : { set: fields.set }) as ConfigChange
  if (fields.digest !== undefined && !hasImage) throw new ValidationError('digest goes with image (it pins that image).', 'digest')
  return {
    repo,
    environment,
    change,
    ...(fields.digest !== undefined ? { digest: checkDigest(fields.digest) } : {}),
    idempotencyKey: idempotencyKey(fields.idempotencyKey, idempotencyHeader),
    dryRun: bool(fields.dryRun, 'dryRun'),
    overrideHold: bool(fields.overrideHold, 'overrideHold'),
    reason: optionalString(fields.reason, 'reason', 500),
  }
}

/** `{repo, environment, to?, keys?, idempotencyKey?, dryRun?, overrideHold?, reason?}` */
export function parseRollbackBody(fields: Record<string, unknown>, idempotencyHeader?: string): RollbackBody {
  rejectUnknownFields(fields, ['repo', 'environment', 'to', 'keys', 'idempotencyKey', 'dryRun', 'overrideHold', 'reason'])
  const to = optionalString(fields.to, 'to', 40)
  if (to !== undefined && to !== 'previous' && !/^[0-9a-f]{7,40}$/.test(to)) {
    throw new ValidationError('to must be a commit sha (7-40 hex characters) or "previous".', 'to')
  }
  const keys = keyList(fields.keys)
  return {
    repo: validateRepoRef(fields.repo),
    environment: validateEnvironmentName(fields.environment),
    ...(to && to !== 'previous' ? { to } : {}),
    ...(keys ? { keys } : {}),
    idempotencyKey: idempotencyKey(fields.idempotencyKey, idempotencyHeader),
    dryRun: bool(fields.dryRun, 'dryRun'),
    overrideHold: bool(fields.overrideHold, 'overrideHold'),
    reason: optionalString(fields.reason, 'reason', 500),
  }
}

function keyList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0 || value.length > 32 || !value.every((k) => typeof k === 'string')) {
    throw new ValidationError('keys must be a list of 1-32 JSON pointers.', 'keys')
  }
  return value as string[]
}

function idempotencyKey(body: unknown, header: string | undefined): string | undefined {
  const fromBody = optionalString(body, 'idempotencyKey', 200)
  const fromHeader = header?.trim() ? optionalString(header.trim(), 'Idempotency-Key', 200) : undefined
  if (fromBody && fromHeader && fromBody !== fromHeader) {
    throw new ValidationError('The Idempotency-Key header and the idempotencyKey field differ; send one.', 'idempotencyKey')
  }
  return fromBody ?? fromHeader
}

/** `POST /v1/deploys/hold {repo, environment, reason}` */
export function parseHoldBody(fields: Record<string, unknown>): HoldBody {
  rejectUnknownFields(fields, ['repo', 'environment', 'reason'])
  return {
    repo: validateRepoRef(fields.repo),
    environment: validateEnvironmentName(fields.environment),
    reason: holdReason(fields.reason, 'reason'),
  }
}

/**
 * `DELETE /v1/deploys/hold?repo=..&environment=..[&reason=..]`. A DELETE
 * carries its fields in the query string; a repeated parameter is refused
 * rather than guessed at.
 */
export function parseReleaseQuery(params: URLSearchParams): ReleaseQuery {
  const fields: Record<string, unknown> = {}
  for (const [k, v] of params) {
    if (k in fields) throw new ValidationError(`Parameter ${k.slice(0, 40)} is given more than once.`, k.slice(0, 40))
    fields[k] = v
  }
  rejectUnknownFields(fields, ['repo', 'environment', 'reason'])
  return {
    repo: validateRepoRef(fields.repo),
    environment: validateEnvironmentName(fields.environment),
    ...(fields.reason !== undefined ? { reason: holdReason(fields.reason, 'reason') } : {}),
  }
}

export interface PromotionBody {
  repo: string
  from: string
  to: string
  keys?: string[]
  reason?: string
  idempotencyKey?: string
  allowTagOnly: boolean
  dryRun: boolean
}

/** `{repo, from, to, keys?, reason?, idempotencyKey?, allowTagOnly?, dryRun?}` */
export function parsePromotionBody(fields: Record<string, unknown>, idempotencyHeader?: string): PromotionBody {
  rejectUnknownFields(fields, ['repo', 'from', 'to', 'keys', 'reason', 'idempotencyKey', 'allowTagOnly', 'dryRun'])
  const from = validateEnvironmentName(fields.from, 'from')
  const to = validateEnvironmentName(fields.to, 'to')
  if (from === to) throw new ValidationError('from and to must be different environments.', 'to')
  const keys = keyList(fields.keys)
  return {
    repo: validateRepoRef(fields.repo),
    from,
    to,
    ...(keys ? { keys } : {}),
    reason: optionalString(fields.reason, 'reason', 500),
    idempotencyKey: idempotencyKey(fields.idempotencyKey, idempotencyHeader),
    allowTagOnly: bool(fields.allowTagOnly, 'allowTagOnly'),
    dryRun: bool(fields.dryRun, 'dryRun'),
  }
}

export interface VerifyBody {
  repo: string
  environment: string
  commit?: string
  check: string
}

/** `POST /v1/deploys/verify {repo, environment, commit?, check}` */
export function parseVerifyBody(fields: Record<string, unknown>): VerifyBody {
  rejectUnknownFields(fields, ['repo', 'environment', 'commit', 'check'])
  const commit = optionalString(fields.commit, 'commit', 40)
  if (commit !== undefined && !/^[0-9a-f]{7,40}$/.test(commit)) throw new ValidationError('commit must be a commit sha (7-40 hex characters).', 'commit')
  return {
    repo: validateRepoRef(fields.repo),
    environment: validateEnvironmentName(fields.environment),
    ...(commit ? { commit } : {}),
    check: checkName(fields.check),
  }
}
