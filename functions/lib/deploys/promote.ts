/**
 * Promotion: copy what one environment runs into the next, exactly. The
 * source file is read at its head; the listed keys (the image by default)
 * are copied into the target as one key-level deploy through the deploy
 * core (apply.ts), so the lease, idempotency, holds, stale-head re-apply and
 * trailers are the same as for any deploy.
 *
 * The image travels by digest: a tag can be re-pushed between the two
 * deploys, a digest cannot. A source without a digest is refused unless the
 * caller accepts a tag-only promotion.
 *
 * Gates (the policy's promote path decides which apply): the value must
 * have been in `from` for `minSoak`, counted from the commit that set it
 * (origin.ts), and the checks the path requires must have been recorded
 * against that commit (verify.ts). Each refusal is its own error code and
 * names its gate.
 */
import { ConflictError, ForbiddenError, NotFoundAppError, ValidationError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import type { PromoteGrant } from '../policy/types.js'
import { type ApplyDeps, type ApplyResult, applyConfigUpdate } from './apply.js'
import { type ConfigLayout, DEFAULT_LAYOUT, environmentPath, validateEnvironmentName } from './change.js'
import { DEFAULT_PROMOTION_SETTINGS, DIGEST_RE, type PromotionSettings, digestPointerFor, pinnedReference, splitImage } from './digest.js'
import { isNotFound } from './errors.js'
import { formatPointer, parsePointer } from './json-pointer.js'
import { parseJsonText } from './json-parse.js'
import { ABSENT, getAt } from './json-values.js'
import { type ValueOrigin, valueOrigin } from './origin.js'
import { readVerification } from './verify.js'

export { DEFAULT_PROMOTION_SETTINGS, type DigestMode, type PromotionSettings } from './digest.js'

export interface PromotionInput {
  from: string
  to: string
  /** Keys to copy; default the layout's image pointer. */
  keys?: string[]
  allowTagOnly?: boolean
  /** The policy's path from → to, with its gates. */
  gate: PromoteGrant
  settings?: PromotionSettings
  layout?: ConfigLayout
  now: Date
}

export interface PromotionSource {
  environment: string
  /** The commit of `from` that set the promoted values. */
  commit: string
  committedAt: string | null
  /** The digest promoted, when the image was among the keys. */
  digest?: string
}

export interface PromotionPlan {
  set: Record<string, unknown>
  subject: string
  source: PromotionSource
  /** `<from>@<commit>`, the Deploy-Promoted-From trailer. */
  promotedFrom: string
}

/** The policy has no promote path for this caller from → to. */
export class PromotionForbiddenError extends ForbiddenError {
  static override readonly code: string = 'PROMOTION_NOT_ALLOWED'
  override details() {
    return { gate: 'promote' }
  }
}

/** A gate refused: the class's code names the reason, and `gate` (in the details too) the gate. */
export abstract class PromotionGateError extends ConflictError {
  abstract readonly gate: string
  constructor(
    message: string,
    private readonly extra: Record<string, unknown> = {},
  ) {
    super(message)
  }
  override details() {
    return { gate: this.gate, ...this.extra }
  }
}

/** The source names its image without a digest (and tag-only was not allowed), or the digest field is not one. */
export class PromotionDigestMissingError extends PromotionGateError {
  static override readonly code: string = 'PROMOTION_DIGEST_MISSING'
  readonly gate = 'digest'
}

/** The source pins two different digests (in the reference and in the digest field). */
export class PromotionDigestMismatchError extends PromotionGateError {
  static override readonly code: string = 'PROMOTION_DIGEST_MISMATCH'
  readonly gate = 'digest'
}

/** githosted gave no commit time, so the soak cannot be measured. */
export class PromotionSoakUnknownError extends PromotionGateError {
  static override readonly code: string = 'PROMOTION_SOAK_UNKNOWN'
  readonly gate = 'minSoak'
}

/** The value has not been in the source environment for the policy's minimum soak yet. */
export class PromotionSoakPendingError extends PromotionGateError {
  static override readonly code: string = 'PROMOTION_SOAK_PENDING'
  readonly gate = 'minSoak'
}

/** A check the policy requires has not passed for the commit that set the value. */
export class PromotionNotVerifiedError extends PromotionGateError {
  static override readonly code: string = 'PROMOTION_NOT_VERIFIED'
  readonly gate = 'requireChecks'
}

export async function planPromotion(repo: RepoHandle, input: PromotionInput): Promise<PromotionPlan> {
  const layout = input.layout ?? DEFAULT_LAYOUT
  const from = validateEnvironmentName(input.from, 'from')
  const to = validateEnvironmentName(input.to, 'to')
  if (from === to) throw new ValidationError('from and to must be different environments.', 'to')
  const imagePointer = formatPointer(parsePointer(layout.imagePointer, 'imagePointer'))
  const digestPointer = digestPointerFor(imagePointer)
  const keys = [...new Set((input.keys ?? [imagePointer]).map((k) => formatPointer(parsePointer(k, 'keys'))))]
  if (keys.some((k) => k === '')) throw new ValidationError('keys: the empty pointer (whole document) cannot be promoted.', 'keys')

  const source = await readEnvironment(repo, from, layout, 'from')
  const target = await readEnvironment(repo, to, layout, 'to')

  const set: Record<string, unknown> = {}
  let digest: string | undefined
  let image: string | undefined
  // The digest key travels with the image (below); named alone, it is copied as it is.
  const withImage = keys.includes(imagePointer)
  for (const key of keys) {
    if (withImage && key === digestPointer) continue
    const value = getAt(source.doc, parsePointer(key))
    if (value === ABSENT) throw new ValidationError(`${key} does not exist in ${source.path}; nothing to promote.`, 'keys')
    if (key !== imagePointer) {
      set[key] = value
      continue
    }
    if (typeof value !== 'string') throw new ValidationError(`${key} in ${source.path} is not an image reference.`, 'keys')
    image = value
    digest = sourceDigest(value, getAt(source.doc, parsePointer(digestPointer)), source.path, digestPointer)
    const targetHasDigestKey = getAt(target.doc, parsePointer(digestPointer)) !== ABSENT
    if (!digest) {
      if (!input.allowTagOnly) {
        throw new PromotionDigestMissingError(
          `${from} names ${value} without a digest (no ${digestPointer}, no @sha256 in the reference), so production could get other bytes than ${from} ran. Deploy ${from} with a digest, or send allowTagOnly: true.`,
        )
      }
      set[key] = value
      // A digest left from an earlier promotion would contradict the new tag.
      if (targetHasDigestKey) set[digestPointer] = null
    } else if ((input.settings ?? DEFAULT_PROMOTION_SETTINGS).digest === 'reference') {
      set[key] = pinnedReference(value, digest)
      if (targetHasDigestKey) set[digestPointer] = digest
    } else {
      set[key] = value
      set[digestPointer] = digest
    }
  }

  const origin = await valueOrigin(repo, { path: source.path, keys: keys.map((k) => parsePointer(k)), current: source.doc, ref: source.headSha })
  if (!origin) throw new NotFoundAppError(`No commit of ${source.path} sets its current value; nothing to promote.`)
  checkSoak(origin, input, from)
  await checkVerified(repo, origin, input, from, source.headSha)

  const committedAt = origin.commit.committedAt ? origin.commit.committedAt.toISOString() : null
  // Like a deploy's subject, the image by name (its digest is in the trailers); keys when no image moves.
  const listed = keys.join(', ')
  const what = image ? splitImage(image).name : listed.length > 60 ? `${keys.length} keys` : listed
  return {
    set,
    subject: `Promote ${what} from ${from} to ${to}`,
    source: { environment: from, commit: origin.commit.sha, committedAt, ...(digest ? { digest } : {}) },
    promotedFrom: `${from}@${origin.commit.sha}`,
  }
}

function sourceDigest(image: string, field: unknown, path: string, digestPointer: string): string | undefined {
  const embedded = splitImage(image).digest
  if (field !== ABSENT && field !== null && (typeof field !== 'string' || !DIGEST_RE.test(field))) {
    throw new PromotionDigestMissingError(`${digestPointer} in ${path} is not a sha256 digest; fix the file before promoting it.`)
  }
  const fromField = typeof field === 'string' ? field : undefined
  if (fromField && embedded && fromField !== embedded) {
    throw new PromotionDigestMismatchError(
      `${path} pins two different digests: ${embedded} in the image and ${fromField} in ${digestPointer}; fix the file before promoting it.`,
    )
  }
  const digest = fromField ?? embedded
  return digest && DIGEST_RE.test(digest) ? digest : undefined
}

function checkSoak(origin: ValueOrigin, input: PromotionInput, from: string): void {
  const need = input.gate.minSoakSeconds
  if (need <= 0) return
  const setAt = origin.commit.committedAt?.getTime()
  if (setAt === undefined) {
    throw new PromotionSoakUnknownError(`githosted gave no time for commit ${origin.commit.sha.slice(0, 12)}, so the soak time in ${from} cannot be measured.`)
  }
  const readyAt = setAt + need * 1000
  if (input.now.getTime() < readyAt) {
    const left = Math.ceil((readyAt - input.now.getTime()) / 1000)
    throw new PromotionSoakPendingError(
      `The value in ${from} was set by ${origin.commit.sha.slice(0, 12)} at ${new Date(setAt).toISOString()}; the policy wants ${need} s in ${from} before promoting (${left} s left).`,
      { setAt: new Date(setAt).toISOString(), readyAt: new Date(readyAt).toISOString(), commit: origin.commit.sha },
    )
  }
}

async function checkVerified(repo: RepoHandle, origin: ValueOrigin, input: PromotionInput, from: string, ref: string): Promise<void> {
  const required = input.gate.requireChecks
  if (required.length === 0) return
  const record = await readVerification(repo, from, { ref })
  const passed = record && record.commit === origin.commit.sha ? Object.keys(record.checks) : []
  const missing = required.filter((c) => !passed.includes(c))
  if (missing.length > 0) {
    throw new PromotionNotVerifiedError(
      `The value in ${from} (commit ${origin.commit.sha.slice(0, 12)}) has no passing ${missing.join(', ')} check; record one with POST /v1/deploys/verify.`,
      { missing, commit: origin.commit.sha },
    )
  }
}

async function readEnvironment(repo: RepoHandle, environment: string, layout: ConfigLayout, field: string) {
  const path = environmentPath(environment, layout)
  try {
    const f = await repo.read(path)
    return { path, headSha: f.headSha, doc: parseJsonText(f.content, path) }
  } catch (err) {
    if (isNotFound(err)) throw new NotFoundAppError(`Unknown environment "${environment}" (${field}): ${path} does not exist.`)
    throw err
  }
}

export interface PromotionRequest extends PromotionInput {
  requester: string
  runUrl?: string
  reason?: string
  idempotencyKey?: string
  dryRun?: boolean
}

export interface PromotionResult extends ApplyResult {
  promotedFrom: PromotionSource
}

/** Plans the promotion and applies it to `to` through the deploy core. */
export async function promote(deps: ApplyDeps, request: PromotionRequest): Promise<PromotionResult> {
  const plan = await planPromotion(deps.repo, { ...request, ...(deps.layout ? { layout: deps.layout } : {}) })
  const result = await applyConfigUpdate(deps, {
    environment: request.to,
    change: { set: plan.set },
    source: 'promotion',
    subject: plan.subject,
    requester: request.requester,
    runUrl: request.runUrl,
    idempotencyKey: request.idempotencyKey,
    dryRun: request.dryRun,
    reason: request.reason,
    imageDigest: plan.source.digest,
    promotedFrom: plan.promotedFrom,
  })
  return { ...result, promotedFrom: plan.source }
}
