/**
 * Commit messages of deploy and repair commits: a subject a person reads in
 * `git log`, and the trailers (trailers.ts) that make the history the deploy
 * log. Where the server's Log has no full messages, the subject is all other
 * writers see, so it carries the base marker and repair subjects keep a fixed
 * wording: the recognisers for both sit here, next to what they recognise.
 */
import type { ApplyRequest } from './apply-types.js'
import type { NormalizedAssignment } from './change.js'
import { changesTo, getAt, orNull } from './json-values.js'
import { type DeployTrailers, formatDeployMessage } from './trailers.js'

export interface MessageContext {
  request: ApplyRequest
  environment: string
  /** Set when the change is an image (the subject names it). */
  image: string | undefined
  assignments: NormalizedAssignment[]
  /** Recorded as Deploy-Event-Time: the event's time, or the request's. */
  eventMs: number
  /** Why a hold did not stop this deploy, added to the reason. */
  holdNote: string | undefined
  /** Whether Log returns full messages; without them subjects carry a base marker. */
  fullMessages: boolean
}

/** The messages of one deploy's commits. */
export class DeployMessages {
  constructor(private readonly m: MessageContext) {}

  /** The deploy commit's message for our change computed on `baseDoc`, the file at `baseCommit`. */
  deploy(baseDoc: unknown, baseCommit: string): string {
    const r = this.m.request
    const trailers: DeployTrailers = {
      environment: this.m.environment,
      source: r.source,
      changes: changesTo(baseDoc, this.m.assignments).map((a) => ({ pointer: a.pointer, previous: orNull(getAt(baseDoc, a.tokens)), current: a.value })),
      requester: r.requester,
      runUrl: r.runUrl,
      eventId: r.eventId,
      eventTime: new Date(this.m.eventMs).toISOString(),
      imageDigest: r.imageDigest,
      idempotencyKey: r.idempotencyKey,
      reason: [r.reason, this.m.holdNote].filter(Boolean).join('; ') || undefined,
      promotedFrom: r.promotedFrom,
      baseCommit,
    }
    return formatDeployMessage(this.withMarker(this.subject(), baseCommit), trailers)
  }

  /**
   * A repair commit's message: `restore` puts back what `ourCommit` overwrote
   * on `theirCommit`; `revert` withdraws our conflicting deploy.
   */
  repair(kind: 'restore' | 'revert', ourCommit: string, theirCommit: string, changes: DeployTrailers['changes'], baseCommit: string): string {
    const environment = this.m.environment
    const subject =
      kind === 'revert'
        ? `Revert ${ourCommit.slice(0, 12)}: conflicting deploy to ${environment}`
        : `Restore changes to ${environment} overwritten by ${ourCommit.slice(0, 12)}`
    return formatDeployMessage(this.withMarker(subject, baseCommit), {
      environment,
      source: 'repair',
      changes,
      requester: this.m.request.requester,
      reason: `githosted did not enforce expectedHead: ${ourCommit.slice(0, 12)} landed on ${theirCommit.slice(0, 12)}, which it had not read`,
      baseCommit,
    })
  }

  private subject(): string {
    const { request, image, environment, assignments: a } = this.m
    if (request.subject) return request.subject
    if (image) return `Deploy ${image} to ${environment}`
    if (a.length === 1) {
      const v = JSON.stringify(a[0]!.value)
      if (v.length <= 40) return `Set ${a[0]!.pointer} to ${v} in ${environment}`
    }
    const keys = a.map((x) => x.pointer).join(', ')
    return `Update ${keys.length > 60 ? `${a.length} keys` : keys} in ${environment}`
  }

  private withMarker(subject: string, baseCommit: string): string {
    return this.m.fullMessages ? subject : `${subject} ${baseMarker(baseCommit)}`
  }
}

/**
 * Appended to our commit subjects when the server returns no full messages:
 * it names the commit the change was computed on, which is what a later
 * writer needs to tell a blind write's own change from what it overwrote.
 */
export function baseMarker(baseCommit: string): string {
  return `(base ${baseCommit.slice(0, 12)})`
}

const BASE_MARKER = /\(base ([0-9a-f]{7,40})\)$/

/** The (abbreviated) commit a subject's base marker names, if it has one. */
export function markedBase(subject: string): string | undefined {
  return BASE_MARKER.exec(subject)?.[1]
}

/** Our repair commits' subjects (`repair` above); everything else with a marker is a deploy. */
export function isRepairSubject(subject: string): boolean {
  return subject.startsWith('Restore changes to ') || /^Revert [0-9a-f]{7,40}: conflicting deploy/.test(subject)
}
