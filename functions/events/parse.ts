/**
 * Parsing of the EventBridge events the events function accepts. Anything
 * that is not exactly one of these shapes is malformed: it is rejected with a
 * logged reason and never retried (retrying cannot fix it).
 *
 * 1. ECR "ECR Image Action" (source `aws.ecr`), as AWS documents it:
 *    { version: "0", id, "detail-type": "ECR Image Action", source: "aws.ecr",
 *      account, time, region, resources: [],
 *      detail: { result: "SUCCESS" | "FAILURE", "repository-name", "image-digest",
 *                "action-type": "PUSH" | "DELETE", "image-tag"?, "manifest-media-type"?,
 *                "artifact-media-type"? } }
 *    Only PUSH + SUCCESS acts; other valid ECR image actions are ignored.
 *
 * 2. Our custom deploy request, sent with PutEvents by anything allowed to
 *    put events on the bus (IAM decides who):
 *    { source: "githosted-ci-broker", "detail-type": "Deploy Requested",
 *      detail: { repo, environment, image | set, requestedBy,
 *                eventTime?, idempotencyKey?, reason? } }
 *    `eventTime` (ISO 8601) orders requests (default: the envelope's `time`);
 *    `idempotencyKey` dedupes re-sent requests (the envelope id dedupes
 *    EventBridge's own redeliveries).
 */
import { ValidationError } from '../lib/errors.js'
import type { ConfigChange } from '../lib/deploys/change.js'
import { validateEnvironmentName, validateRepoRef } from '../lib/deploys/change.js'
import type { EcrPush } from './mapping.js'

export const CUSTOM_SOURCE = 'githosted-ci-broker'
export const CUSTOM_DETAIL_TYPE = 'Deploy Requested'

/** An event that can never be processed; its reason is logged, and it is not retried. */
export class MalformedEventError extends ValidationError {
  // Its parent's code: to the sender, a malformed event is invalid input like any other.
  static override readonly code: string = 'VALIDATION_FAILED'
}

export type ParsedEvent =
  | { kind: 'ecr-push'; id: string; time: string; push: EcrPush }
  | {
      kind: 'deploy-request'
      id: string
      time: string
      repo: string
      environment: string
      change: ConfigChange
      requestedBy: string
      /** The sending account from the envelope: set by EventBridge, not by the sender (unlike requestedBy). */
      senderAccount?: string
      idempotencyKey?: string
      reason?: string
    }
  /** The auto-promotion schedule (an EventBridge scheduled rule, off by default). */
  | { kind: 'schedule'; id: string; time: string }
  | { kind: 'ignored'; id: string; reason: string }

const bad = (reason: string): never => {
  throw new MalformedEventError(reason)
}

function str(o: Record<string, unknown>, key: string, re?: RegExp, max = 256): string {
  const v = o[key]
  if (typeof v !== 'string' || v === '' || v.length > max) bad(`"${key}" must be a non-empty string`)
  if (re && !re.test(v as string)) bad(`"${key}" has an unexpected format`)
  return v as string
}

function isoTime(o: Record<string, unknown>, key: string): string {
  const v = str(o, key, undefined, 64)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) {
    bad(`"${key}" must be an ISO 8601 time`)
  }
  return v
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be an object`)
  return v as Record<string, unknown>
}

export function parseEvent(event: unknown): ParsedEvent {
  const e = obj(event, 'the event')
  const id = str(e, 'id', /^[A-Za-z0-9-]+$/, 128)
  const source = str(e, 'source', undefined, 128)
  const detailType = str(e, 'detail-type', undefined, 128)
  const time = isoTime(e, 'time')
  const detail = obj(e.detail, '"detail"')

  if (source === 'aws.events') {
    if (detailType !== 'Scheduled Event') return { kind: 'ignored', id, reason: `"${detailType}" from aws.events is not a trigger` }
    return { kind: 'schedule', id, time }
  }
  if (source === 'aws.ecr') {
    if (detailType !== 'ECR Image Action') return { kind: 'ignored', id, reason: `ECR "${detailType}" events are not deploy triggers` }
    const result = str(detail, 'result', /^(SUCCESS|FAILURE)$/)
    const action = str(detail, 'action-type', /^(PUSH|DELETE)$/)
    if (action !== 'PUSH' || result !== 'SUCCESS') return { kind: 'ignored', id, reason: `ECR ${action} ${result} does not deploy` }
    const tag = detail['image-tag']
    if (tag !== undefined && (typeof tag !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag))) bad('"image-tag" has an unexpected format')
    return {
      kind: 'ecr-push',
      id,
      time,
      push: {
        account: str(e, 'account', /^\d{12}$/),
        region: str(e, 'region', /^[a-z]{2}(-[a-z]+)+-\d+$/),
        repository: str(detail, 'repository-name', /^[a-z0-9][a-z0-9._/-]{0,255}$/),
        digest: str(detail, 'image-digest', /^sha256:[0-9a-f]{64}$/),
        ...(typeof tag === 'string' ? { tag } : {}),
      },
    }
  }

  if (source === CUSTOM_SOURCE) {
    if (detailType !== CUSTOM_DETAIL_TYPE) bad(`unknown detail-type "${detailType.slice(0, 60)}" for source ${CUSTOM_SOURCE}`)
    const allowed = ['repo', 'environment', 'image', 'set', 'requestedBy', 'eventTime', 'idempotencyKey', 'reason']
    for (const k of Object.keys(detail)) if (!allowed.includes(k)) bad(`unknown detail field "${k.slice(0, 40)}"`)
    const hasImage = detail.image !== undefined
    if (hasImage === (detail.set !== undefined)) bad('detail must have exactly one of "image" or "set"')
    let repo: string
    let environment: string
    try {
      repo = validateRepoRef(detail.repo, 'detail.repo')
      environment = validateEnvironmentName(detail.environment, 'detail.environment')
    } catch (err) {
      return bad((err as Error).message)
    }
    return {
      kind: 'deploy-request',
      id,
      time: detail.eventTime !== undefined ? isoTime(detail, 'eventTime') : time,
      repo,
      environment,
      change: (hasImage ? { image: detail.image } : { set: detail.set }) as ConfigChange,
      requestedBy: str(detail, 'requestedBy', undefined, 200),
      ...(e.account !== undefined ? { senderAccount: str(e, 'account', /^\d{12}$/) } : {}),
      ...(detail.idempotencyKey !== undefined ? { idempotencyKey: str(detail, 'idempotencyKey', undefined, 200) } : {}),
      ...(detail.reason !== undefined ? { reason: str(detail, 'reason', undefined, 500) } : {}),
    }
  }
  return bad(`unknown source "${source.slice(0, 60)}"`)
}
