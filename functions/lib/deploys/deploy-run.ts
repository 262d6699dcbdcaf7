/**
 * One deploy from read to answer, in the order the guarantees need: the
 * hold, a replay and a stale event are decided on the file as read, before
 * anything is written; the event-order marks are raised only once the change
 * has landed.
 */
import type { Logger } from '../observability/logger.js'
import { silentLogger } from '../observability/logger.js'
import type { Lease } from '../state/lease.js'
import type { ApplyDeps, ApplyRequest, ApplyResult } from './apply-types.js'
import type { ConfigLayout, NormalizedAssignment } from './change.js'
import { DeployFile } from './deploy-file.js'
import { DeployMessages } from './deploy-message.js'
import { unifiedDiff } from './diff.js'
import { type DeployHistory, findReplay, readDeployHistory } from './history.js'
import { holdVerdict, readHold } from './holds.js'
import { applyAssignments } from './json-text.js'
import { getAt, orNull } from './json-values.js'
import { EventOrder, parseEventTime } from './ordering.js'
import { recordedResult, replayOf } from './replay.js'
import { writeLoop } from './write-loop.js'

export class DeployRun {
  private readonly logger: Logger
  private readonly clock: () => Date
  private readonly file: DeployFile
  private readonly order: EventOrder
  /** Whether Log returns full messages (trailers readable); learned from the history read. */
  private fullMessages = true

  constructor(
    private readonly deps: ApplyDeps,
    private readonly layout: ConfigLayout,
    private readonly environment: string,
    private readonly assignments: NormalizedAssignment[],
    private readonly image: string | undefined,
    private readonly request: ApplyRequest,
    lease?: Lease,
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ repo: deps.repoName, environment, source: request.source })
    this.clock = deps.clock ?? (() => new Date())
    this.file = new DeployFile(deps, environment, layout, this.logger, lease)
    this.order = new EventOrder(deps, environment, assignments.map((a) => a.pointer))
  }

  private result(commit: string, changed: boolean, previousDoc: unknown, extra: Partial<ApplyResult> = {}): ApplyResult {
    const previous: Record<string, unknown> = {}
    const current: Record<string, unknown> = {}
    for (const a of this.assignments) {
      previous[a.pointer] = orNull(getAt(previousDoc, a.tokens))
      current[a.pointer] = changed || extra.dryRun ? a.value : orNull(getAt(previousDoc, a.tokens))
    }
    return {
      repo: this.deps.repoName,
      environment: this.environment,
      path: this.file.path,
      commit,
      changed,
      previous,
      current,
      attempts: this.file.attempts,
      retries: this.file.retries,
      repairs: this.file.repairs,
      ...extra,
    }
  }

  async run(): Promise<ApplyResult> {
    const { repo } = this.deps
    const current = await this.file.read()
    const baseDoc = this.file.parse(current.content)

    // Independent reads, sent together: under the repo's write lease every
    // round trip here is time other deploys wait. The schema is read now even
    // though a held, replayed or stale deploy never needs it: one wasted read
    // on a rare path against one round trip off every deploy that writes.
    const schema = this.file.readSchema(current.headSha)
    schema.catch(() => undefined) // awaited below; this only keeps an early return from leaving it unhandled
    const [hold, history] = await Promise.all([readHold(repo, this.environment, { layout: this.layout, ref: current.headSha }), this.history()])
    const verdict = holdVerdict(hold, this.environment, this.request)
    if (verdict && 'skip' in verdict) {
      this.logger.info('deploy skipped: environment is held', { hold, eventId: this.request.eventId })
      return this.result(current.headSha, false, baseDoc, { skipped: 'held', reason: verdict.skip })
    }
    const holdNote = verdict?.note
    if (holdNote) this.logger.warn('deploy overrides a hold', { hold })

    const eventMs = this.request.eventTime !== undefined ? parseEventTime(this.request.eventTime) : undefined
    if (history && !this.request.dryRun) {
      const replay = findReplay(history, { idempotencyKey: this.request.idempotencyKey, eventId: this.request.eventId })
      if (replay) {
        const prior = recordedResult({ repo: this.deps.repoName, environment: this.environment, path: this.file.path }, replay.commit.sha, replay.trailers)
        return replayOf(prior, this.assignments, this.request, this.logger)
      }
    }
    if (this.request.source === 'event' && eventMs !== undefined) {
      const stale = await this.order.newerThan(eventMs, history)
      if (stale) {
        this.logger.info('deploy skipped: event is older than the current value', { ...stale, eventId: this.request.eventId, eventTime: this.request.eventTime })
        return this.result(current.headSha, false, baseDoc, { skipped: 'stale-event', reason: `a newer change (${stale.time}, commit ${stale.commit.slice(0, 12)}) already set these keys` })
      }
    }

    const desired = applyAssignments(current.content, this.assignments, this.file.path)
    if (desired.text === current.content) {
      return this.result(current.headSha, false, baseDoc)
    }
    this.file.checkSize(desired.text)
    this.file.checkSchema(desired.doc, await schema)
    if (this.request.dryRun) {
      return this.result(current.headSha, false, baseDoc, { dryRun: true, diff: unifiedDiff(this.file.path, current.content, desired.text) })
    }

    const markMs = eventMs ?? this.clock().getTime()
    const messages = new DeployMessages({
      request: this.request,
      environment: this.environment,
      image: this.image,
      assignments: this.assignments,
      eventMs: markMs,
      holdNote,
      fullMessages: this.fullMessages,
    })
    const written = await writeLoop(this.file, messages, this.assignments, { expectedHead: current.headSha, baseText: current.content, desired: desired.text })
    const result = this.result(written.commit, written.changed, written.previousDoc, written.repairCommit ? { repairCommit: written.repairCommit } : {})
    if (result.changed) await this.order.raise(this.logger, result.commit, markMs, eventMs)
    return result
  }

  /**
   * Reads the file's recent deploy history (one Log call). Also tells us
   * whether the server returns full messages; without them our subjects
   * carry a base marker (see repair.ts).
   */
  private async history(): Promise<DeployHistory | undefined> {
    const history = await readDeployHistory(this.deps.repo, this.file.path, this.environment)
    this.fullMessages = history.supported
    if (!history.supported) {
      const needed = this.request.idempotencyKey !== undefined || this.request.eventId !== undefined || this.request.source === 'event'
      if (needed) this.logger.warn('server returns no full commit messages: idempotency and ordering fall back to value comparison and in-process memory')
      return undefined
    }
    return history
  }
}
