/**
 * The core operation: apply a change to one environment file at key level,
 * safely under concurrency, against servers that do and do not enforce
 * `expectedHead`.
 *
 * INVARIANT (what "zero lost updates" means here). Every write we make is
 * "the content at the commit we name as expectedHead, plus our change". If
 * that commit is not the branch tip:
 *  - an enforcing server refuses (StaleHead): we re-read and three-way merge
 *    base→ours into the new content; nothing of ours landed, nothing of theirs
 *    was touched;
 *  - a non-enforcing server lets the write land on top of commits we never
 *    saw (the client reports an ExpectedHeadViolation). We then settle
 *    (repair.ts): until we see a tip, written after our last commit, whose
 *    content is its *intended state* (every commit's intended change applied
 *    in order, snapshots ignored), we write the intended value of every key
 *    that differs, whoever made it differ. Our subjects carry a
 *    `(base <sha>)` marker when Log has no full messages, so that other
 *    writers can tell our intended change from our snapshot.
 * So after every successful return, each key another writer changed since
 * our read holds their value unless we changed that same key; and for the
 * keys we change, another writer's different value is never overwritten
 * silently — that is a DeployConflictError (409) naming the key and both
 * values, and our whole change is withdrawn (and, where it had already landed
 * on a non-enforcing server, reverted by a further commit). Keys we change
 * that another writer set to our value are a no-op. A write is all-or-nothing
 * per request: the final file has all of the request's keys or none.
 *
 * Ordering: every deploy commit records the time of the request or event
 * that produced it (Deploy-Event-Time) and the image digest where known; an
 * *event* older than the newest recorded time for its keys is skipped (never
 * an error), so an out-of-order delivery cannot regress an image. Explicit
 * requests (API, rollback, CI job) always apply.
 *
 * Idempotency: the same idempotency key or event id found in the shared
 * idempotency records (coordination.ts), or in the file's recent history,
 * returns the original answer without writing; a change already in place
 * makes no commit.
 *
 * Across containers (ApplyDeps.coordination, DynamoDB on Lambda): each
 * deploy runs under its repo's write lease, so broker deploys to one repo
 * never interleave, and the shared records and event-order marks decide
 * replays and stale events whichever container a request reaches.
 */
import type { Logger } from '../observability/logger.js'
import { silentLogger } from '../observability/logger.js'
import { currentDeadline } from '../deadline.js'
import { DependencyUnavailableError, NotFoundAppError, ValidationError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import {
  type ConfigChange,
  type ConfigLayout,
  DEFAULT_LAYOUT,
  LIMITS,
  type NormalizedAssignment,
  environmentPath,
  normalizeChange,
  validateEnvironmentName,
} from './change.js'
import { unifiedDiff } from './diff.js'
import { ConfigFileInvalidError, DeployConflictError, DeployContentionError, EnvironmentHeldError, type ExpectedHeadViolation, IdempotencyKeyReusedError, asExpectedHeadViolation, isNotFound, isRepoBusy, isStaleHead } from './errors.js'
import { type DeployHistory, findReplay, readDeployHistory, watermark } from './history.js'
import { type Hold, readHold } from './holds.js'
import { applyAssignments, parseJsonText } from './json-text.js'
import { ABSENT, getAt, jsonEqual, lookupEqual } from './json-values.js'
import { type MergeConflict, merge3 } from './merge.js'
import { RecentDeploys } from './recent.js'
import { HistoryCache, baseMarker, clobberedChanges, divergence, intentConflicts } from './repair.js'
import { checkSchema } from './schema.js'
import { DEFAULT_LEASE_WAIT_MS, type DeployCoordination } from './coordination.js'
import type { Lease } from '../state/lease.js'
import { type DeployTrailers, formatDeployMessage } from './trailers.js'

export type DeploySource = 'api' | 'event' | 'rollback' | 'ci-job' | 'promotion'

/**
 * What to apply. The who/why fields go verbatim into the commit trailers;
 * `requester` is the caller identity (CallerIdentity.subject, event source),
 * `eventTime` the event's time (events) or the request's (defaults to now).
 */
export interface ApplyRequest
  extends Pick<DeployTrailers, 'requester' | 'runUrl' | 'eventId' | 'eventTime' | 'imageDigest' | 'idempotencyKey' | 'reason' | 'promotedFrom'> {
  environment: string
  change: ConfigChange
  source: DeploySource
  dryRun?: boolean
  /** Deploy despite a hold. Only pass true when the policy allowed the override. */
  overrideHold?: boolean
  /** Commit subject override (rollback uses its own wording). */
  subject?: string
}

export interface RetryPolicy {
  /** Write attempts in total (first write, stale-head retries and repairs). */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 25, baseDelayMs: 20, maxDelayMs: 800 }

export interface ApplyDeps {
  repo: RepoHandle
  /** The repo's slug, for cache keys and messages. */
  repoName: string
  layout?: ConfigLayout
  logger?: Logger
  clock?: () => Date
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  recent?: RecentDeploys<ApplyResult>
  retry?: Partial<RetryPolicy>
  author?: { name: string; email: string }
  /**
   * Shared across containers: the repo's write lease, idempotency records and
   * event-order marks (coordination.ts). Without it, only this process's
   * memory and the Git history guard them: unit tests only.
   */
  coordination?: DeployCoordination<ApplyResult>
}

/** Of the request's budget, what is kept for the deploy once the lease is ours. */
const DEPLOY_AFTER_LEASE_MS = 5_000

/** A write must not outlive the lease it is sent under: renew first when less than this is left. */
const LEASE_MARGIN_MS = 11_000

export interface ApplyResult {
  repo: string
  environment: string
  path: string
  /** The new commit, or the commit at which the requested state already held. */
  commit: string
  changed: boolean
  /** Values of the changed keys before (pointer → value; null for an absent key). */
  previous: Record<string, unknown>
  current: Record<string, unknown>
  /** Why nothing was written although the change is not in place. */
  skipped?: 'held' | 'stale-event'
  reason?: string
  /** The original result's commit, when this is a replay of an idempotency key / event id. */
  replayed?: boolean
  dryRun?: boolean
  diff?: string
  /** The last repair commit, when the server ignored expectedHead and we restored others' changes. */
  repairCommit?: string
  /** Write attempts made (1 = first write landed) and stale-head retries / repairs among them. */
  attempts: number
  retries: number
  repairs: number
}

export const DEFAULT_AUTHOR = { name: 'githosted-ci-broker', email: 'deploys@githosted-ci-broker.invalid' }

const processRecent = new RecentDeploys<ApplyResult>()

/** Applies a change to an environment file; see the module comment for the guarantees. */
export async function applyConfigUpdate(deps: ApplyDeps, request: ApplyRequest): Promise<ApplyResult> {
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const environment = validateEnvironmentName(request.environment)
  const change = normalizeChange(request.change, layout)
  const recent = deps.recent ?? processRecent
  const replayKeys = [
    request.idempotencyKey && `${deps.repoName}|${environment}|key|${request.idempotencyKey}`,
    request.eventId && `${deps.repoName}|${environment}|event|${request.eventId}`,
  ].filter((k): k is string => !!k)
  if (request.idempotencyKey !== undefined) checkKey(request.idempotencyKey, 'idempotencyKey')
  if (request.eventId !== undefined) checkKey(request.eventId, 'eventId')

  if (deps.coordination && !request.dryRun) {
    return coordinated(deps, deps.coordination, replayKeys, () => new DeployRun(deps, layout, environment, change.assignments, change.image, request), change.assignments, request)
  }
  if (!request.dryRun) {
    for (const k of replayKeys) {
      const prior = recent.get(k)
      if (prior) {
        const r = await prior
        checkSameChange(r, change.assignments, request)
        return { ...r, replayed: true, attempts: 0, retries: 0, repairs: 0 }
      }
    }
  }
  const run = new DeployRun(deps, layout, environment, change.assignments, change.image, request).run()
  if (!request.dryRun) for (const k of replayKeys) recent.remember(k, run)
  return run
}

/**
 * One deploy's turn at the repo: under its write lease, an idempotency
 * record or event-order mark left by any container decides first; the
 * result is recorded before the lease is given back.
 */
async function coordinated(
  deps: ApplyDeps,
  c: DeployCoordination<ApplyResult>,
  replayKeys: string[],
  newRun: () => DeployRun,
  assignments: NormalizedAssignment[],
  request: ApplyRequest,
): Promise<ApplyResult> {
  const clock = deps.clock ?? (() => new Date())
  const logger = deps.logger ?? silentLogger
  const asked = clock().getTime()
  // The wait fits inside the request's budget (lib/deadline.ts), leaving time for the deploy itself.
  const budgetEnd = currentDeadline()?.endsAt
  const lease = await c.leases.acquire(`repo:${deps.repoName}`, {
    deadline: Math.min(asked + (c.leaseWaitMs ?? DEFAULT_LEASE_WAIT_MS), budgetEnd === undefined ? Infinity : budgetEnd - DEPLOY_AFTER_LEASE_MS),
    onWait: () => logger.debug('waiting for the repo write lease', { repo: deps.repoName }),
  })
  // leaseWaitMs feeds the LeaseWait metric (lib/observability).
  logger.info('repo write lease taken', { repo: deps.repoName, fence: lease.fence, leaseWaitMs: clock().getTime() - asked })
  try {
    for (const k of replayKeys) {
      const prior = await c.idempotency.get(k)
      if (prior) {
        checkSameChange(prior, assignments, request)
        logger.info('deploy already applied (replay)', { commit: prior.commit, idempotencyKey: request.idempotencyKey, eventId: request.eventId })
        return { ...prior, replayed: true, attempts: 0, retries: 0, repairs: 0 }
      }
    }
    const run = newRun()
    run.lease = lease
    const result = await run.run()
    if (!result.skipped) await afterLanding(logger, 'record the idempotency key', () => Promise.all(replayKeys.map((k) => c.idempotency.put(k, result))))
    return result
  } finally {
    try {
      await c.leases.release(lease)
    } catch (err) {
      // It expires on its own; the deploy's answer stands.
      logger.warn('could not release the repo write lease; it expires on its own', { code: (err as { code?: string }).code })
    }
  }
}

/**
 * Bookkeeping after the change is in the file: a failure here must not turn
 * the answer into an error (a 5xx says nothing was applied). The Git
 * trailers stay as the fallback for idempotency and ordering.
 */
async function afterLanding(logger: Logger, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    logger.warn(`deploy landed but could not ${what}; the commit trailers stand in for it`, { code: (err as { code?: string }).code })
  }
}

function checkKey(value: string, field: string): void {
  if (typeof value !== 'string' || value === '' || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ValidationError(`${field} must be 1-200 printable characters.`, field)
  }
}

function checkSameChange(prior: ApplyResult, assignments: NormalizedAssignment[], request: ApplyRequest): void {
  if (!request.idempotencyKey) return
  const same = assignments.every((a) => a.pointer in prior.current && jsonEqual(prior.current[a.pointer], a.value))
  if (!same) {
    throw new IdempotencyKeyReusedError(
      `Idempotency key "${request.idempotencyKey}" was already used for a different change in ${prior.environment} (commit ${prior.commit.slice(0, 12)}).`,
      prior.commit,
    )
  }
}

const orNull = (v: unknown): unknown => (v === ABSENT || v === undefined ? null : v)

class DeployRun {
  private readonly logger: Logger
  private readonly clock: () => Date
  private readonly retry: RetryPolicy
  private readonly path: string
  private readonly tokens: string[][]
  private attempts = 0
  /** Whether Log returns full messages (trailers readable); learned from the history read. */
  private fullMessages = true
  private retries = 0
  private repairs = 0
  /** This run's turn at the repo, when coordinated; renewed before any write that could outlive it. */
  lease: Lease | undefined

  constructor(
    private readonly deps: ApplyDeps,
    private readonly layout: ConfigLayout,
    private readonly environment: string,
    private readonly assignments: NormalizedAssignment[],
    private readonly image: string | undefined,
    private readonly request: ApplyRequest,
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ repo: deps.repoName, environment, source: request.source })
    this.clock = deps.clock ?? (() => new Date())
    this.retry = { ...DEFAULT_RETRY, ...deps.retry }
    this.path = environmentPath(environment, layout)
    this.tokens = assignments.map((a) => a.tokens)
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
      path: this.path,
      commit,
      changed,
      previous,
      current,
      attempts: this.attempts,
      retries: this.retries,
      repairs: this.repairs,
      ...extra,
    }
  }

  async run(): Promise<ApplyResult> {
    const { repo } = this.deps
    const file = await this.readFile()
    const baseDoc = this.parseFile(file.content)

    // Independent reads, sent together: under the repo's write lease every
    // round trip here is time other deploys wait.
    const [hold, history] = await Promise.all([readHold(repo, this.environment, { layout: this.layout, ref: file.headSha }), this.history()])
    let holdNote: string | undefined
    if (hold) {
      if (this.request.source === 'event') {
        this.logger.info('deploy skipped: environment is held', { hold, eventId: this.request.eventId })
        return this.result(file.headSha, false, baseDoc, { skipped: 'held', reason: `${this.environment} is held: ${hold.reason}` })
      }
      if (!this.request.overrideHold) throw heldError(this.environment, hold)
      holdNote = `overrides hold on ${this.environment} (${hold.reason})`
      this.logger.warn('deploy overrides a hold', { hold })
    }

    const eventMs = this.request.eventTime !== undefined ? parseEventTime(this.request.eventTime) : undefined
    if (history && !this.request.dryRun) {
      const replay = findReplay(history, { idempotencyKey: this.request.idempotencyKey, eventId: this.request.eventId })
      if (replay) return this.replayOf(replay.commit.sha, replay.trailers)
    }
    if (this.request.source === 'event' && eventMs !== undefined) {
      const stale = (await this.sharedStale(eventMs)) ?? this.staleEvent(history, eventMs)
      if (stale) {
        this.logger.info('deploy skipped: event is older than the current value', { ...stale, eventId: this.request.eventId, eventTime: this.request.eventTime })
        return this.result(file.headSha, false, baseDoc, { skipped: 'stale-event', reason: `a newer change (${stale.time}, commit ${stale.commit.slice(0, 12)}) already set these keys` })
      }
    }

    const desired = applyAssignments(file.content, this.assignments, this.path)
    if (desired.text === file.content) {
      return this.result(file.headSha, false, baseDoc)
    }
    this.checkSize(desired.text)
    await this.checkSchema(desired.doc, file.headSha)
    if (this.request.dryRun) {
      return this.result(file.headSha, false, baseDoc, { dryRun: true, diff: unifiedDiff(this.path, file.content, desired.text) })
    }

    const markMs = eventMs ?? this.clock().getTime()
    const result = await this.writeLoop(file.headSha, file.content, desired.text, markMs, holdNote)
    if (result.changed && eventMs !== undefined) {
      for (const a of this.assignments) this.recent.raiseMark(this.markKey(a.pointer), eventMs)
    }
    const c = this.deps.coordination
    if (result.changed && c) {
      await afterLanding(this.logger, 'raise the event-order mark', () =>
        c.watermarks.raise(this.deps.repoName, this.environment, this.assignments.map((a) => a.pointer), { ms: markMs, commit: result.commit }),
      )
    }
    return result
  }

  /** The shared event-order mark, when newer than this event. */
  private async sharedStale(eventMs: number): Promise<{ time: string; commit: string } | undefined> {
    const c = this.deps.coordination
    if (!c) return undefined
    const mark = await c.watermarks.newest(this.deps.repoName, this.environment, this.assignments.map((a) => a.pointer))
    return mark && mark.ms > eventMs ? { time: new Date(mark.ms).toISOString(), commit: mark.commit } : undefined
  }

  /** Sends a write only while this run's lease holds for longer than the write can take. */
  private async write(text: string, options: { message: string; expectedHead: string; authorName: string; authorEmail: string }) {
    if (this.lease && this.deps.coordination) this.lease = await this.deps.coordination.leases.ensure(this.lease, LEASE_MARGIN_MS)
    return this.deps.repo.write(this.path, text, options)
  }

  private get recent(): RecentDeploys<ApplyResult> {
    return this.deps.recent ?? processRecent
  }

  private markKey(pointer: string): string {
    return `${this.deps.repoName}|${this.environment}|mark|${pointer}`
  }

  private async readFile(ref?: string) {
    try {
      return await this.deps.repo.read(this.path, ref ? { ref } : undefined)
    } catch (err) {
      if (isNotFound(err)) {
        if (ref) throw new DependencyUnavailableError(`${this.path} disappeared at ${ref.slice(0, 12)} while deploying; try again.`)
        throw new NotFoundAppError(`Unknown environment "${this.environment}": ${this.path} does not exist in ${this.deps.repoName}.`)
      }
      throw err
    }
  }

  private parseFile(content: string): unknown {
    if (Buffer.byteLength(content) > LIMITS.fileBytes) {
      throw new ConfigFileInvalidError(`${this.path} in ${this.deps.repoName} is larger than ${LIMITS.fileBytes} bytes; nothing was written.`)
    }
    try {
      return parseJsonText(content, `${this.path} in ${this.deps.repoName}`)
    } catch (err) {
      throw new ConfigFileInvalidError((err as Error).message)
    }
  }

  private checkSize(text: string): void {
    if (Buffer.byteLength(text) > LIMITS.fileBytes) {
      throw new ValidationError(`The change would make ${this.path} larger than ${LIMITS.fileBytes} bytes.`, 'set')
    }
  }

  private async checkSchema(doc: unknown, ref: string): Promise<void> {
    const schemaPath = this.layout.schemaPath
    if (!schemaPath) return
    let schemaText: string
    try {
      schemaText = (await this.deps.repo.read(schemaPath, { ref })).content
    } catch (err) {
      if (isNotFound(err)) return
      throw err
    }
    let errors: string[]
    try {
      errors = checkSchema(JSON.parse(schemaText), doc)
    } catch (err) {
      throw new ConfigFileInvalidError(`${schemaPath} cannot be used: ${(err as Error).message}; nothing was written.`)
    }
    if (errors.length > 0) {
      throw new ValidationError(`The change would violate ${schemaPath}: ${errors.slice(0, 5).join('; ')}. Nothing was written.`, 'set')
    }
  }

  /**
   * Reads the file's recent deploy history (one Log call). Also tells us
   * whether the server returns full messages; without them our subjects
   * carry a base marker (see repair.ts).
   */
  private async history(): Promise<DeployHistory | undefined> {
    const history = await readDeployHistory(this.deps.repo, this.path, this.environment)
    this.fullMessages = history.supported
    if (!history.supported) {
      const needed = this.request.idempotencyKey !== undefined || this.request.eventId !== undefined || this.request.source === 'event'
      if (needed) this.logger.warn('server returns no full commit messages: idempotency and ordering fall back to value comparison and in-process memory')
      return undefined
    }
    return history
  }

  private withMarker(subject: string, baseCommit: string): string {
    return this.fullMessages ? subject : `${subject} ${baseMarker(baseCommit)}`
  }

  /** The requested assignments that actually change `baseDoc` (the rest are already in place). */
  private effective(baseDoc: unknown): NormalizedAssignment[] {
    return this.assignments.filter((a) => !lookupEqual(getAt(baseDoc, a.tokens), a.value))
  }

  private staleEvent(history: DeployHistory | undefined, eventMs: number): { time: string; commit: string } | undefined {
    const pointers = this.assignments.map((a) => a.pointer)
    const w = history ? watermark(history, pointers) : undefined
    if (w && Date.parse(w.time) > eventMs) return w
    for (const p of pointers) {
      const mark = this.recent.mark(this.markKey(p))
      if (mark !== undefined && mark > eventMs) return { time: new Date(mark).toISOString(), commit: '(in-process)' }
    }
    return undefined
  }

  private replayOf(commit: string, trailers: DeployTrailers): ApplyResult {
    const previous: Record<string, unknown> = {}
    const current: Record<string, unknown> = {}
    for (const c of trailers.changes) {
      previous[c.pointer] = c.previous ?? null
      current[c.pointer] = c.current ?? null
    }
    const prior: ApplyResult = {
      repo: this.deps.repoName,
      environment: this.environment,
      path: this.path,
      commit,
      changed: true,
      previous,
      current,
      attempts: 0,
      retries: 0,
      repairs: 0,
      replayed: true,
    }
    checkSameChange(prior, this.assignments, this.request)
    this.logger.info('deploy already applied (replay)', { commit, idempotencyKey: this.request.idempotencyKey, eventId: this.request.eventId })
    return prior
  }

  private subject(): string {
    if (this.request.subject) return this.request.subject
    if (this.image) return `Deploy ${this.image} to ${this.environment}`
    const a = this.assignments
    if (a.length === 1) {
      const v = JSON.stringify(a[0]!.value)
      if (v.length <= 40) return `Set ${a[0]!.pointer} to ${v} in ${this.environment}`
    }
    const keys = a.map((x) => x.pointer).join(', ')
    return `Update ${keys.length > 60 ? `${a.length} keys` : keys} in ${this.environment}`
  }

  private message(baseDoc: unknown, baseCommit: string, eventMs: number, holdNote: string | undefined): string {
    const r = this.request
    const trailers: DeployTrailers = {
      environment: this.environment,
      source: r.source,
      changes: this.effective(baseDoc).map((a) => ({ pointer: a.pointer, previous: orNull(getAt(baseDoc, a.tokens)), current: a.value })),
      requester: r.requester,
      runUrl: r.runUrl,
      eventId: r.eventId,
      eventTime: new Date(eventMs).toISOString(),
      imageDigest: r.imageDigest,
      idempotencyKey: r.idempotencyKey,
      reason: [r.reason, holdNote].filter(Boolean).join('; ') || undefined,
      promotedFrom: r.promotedFrom,
      baseCommit,
    }
    return formatDeployMessage(this.withMarker(this.subject(), baseCommit), trailers)
  }

  private repairMessage(kind: 'restore' | 'revert', ourCommit: string, theirCommit: string, changes: DeployTrailers['changes'], baseCommit: string): string {
    const subject =
      kind === 'revert'
        ? `Revert ${ourCommit.slice(0, 12)}: conflicting deploy to ${this.environment}`
        : `Restore changes to ${this.environment} overwritten by ${ourCommit.slice(0, 12)}`
    return formatDeployMessage(this.withMarker(subject, baseCommit), {
      environment: this.environment,
      source: 'repair',
      changes,
      requester: this.request.requester,
      reason: `githosted did not enforce expectedHead: ${ourCommit.slice(0, 12)} landed on ${theirCommit.slice(0, 12)}, which it had not read`,
      baseCommit,
    })
  }

  private async backoff(): Promise<void> {
    // Inside a request budget, one backoff shared with the githosted client (lib/deadline.ts).
    const deadline = currentDeadline()
    if (deadline) return deadline.pause(`githosted stayed busy or ${this.path} kept changing (${this.attempts} write attempts)`)
    const { baseDelayMs, maxDelayMs } = this.retry
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.retries, 16))
    const ms = Math.floor((this.deps.random ?? Math.random)() * cap)
    await (this.deps.sleep ?? ((d: number) => new Promise<void>((r) => setTimeout(r, d))))(ms)
  }

  /**
   * Writes `desired` (= content at `expectedHead` + our change). A moved head
   * (StaleHead) means nothing landed: re-read, merge, write again. A write
   * that landed on the wrong parent (ExpectedHeadViolation) is settled by
   * `settle`, as described in repair.ts.
   */
  private async writeLoop(expectedHead: string, baseText: string, desired: string, eventMs: number, holdNote: string | undefined): Promise<ApplyResult> {
    const { repo } = this.deps
    const author = this.deps.author ?? DEFAULT_AUTHOR
    const appliedOn = parseJsonText(baseText) // what our deploy commit replaced (for `previous`)
    let stalePrevious: unknown = appliedOn

    for (;;) {
      this.checkAttempts(undefined)
      this.attempts++
      const message = this.message(stalePrevious, expectedHead, eventMs, holdNote)
      let landed: string
      try {
        landed = (await this.write(desired, { message, expectedHead, authorName: author.name, authorEmail: author.email })).commit
      } catch (err) {
        if (isRepoBusy(err)) {
          // Another writer holds the repo's lease; nothing landed. Same write, after a pause.
          this.retries++
          await this.backoff()
          continue
        }
        if (isStaleHead(err)) {
          // Nothing landed. Re-read and merge our change (base → desired) into the new content.
          this.retries++
          await this.backoff()
          const cur = await this.readFile()
          this.parseFile(cur.content)
          const m = merge3({ baseText, oursText: desired, theirsText: cur.content, intent: this.tokens })
          if (m.conflicts.length > 0) {
            this.logger.info('deploy conflict', { conflicts: m.conflicts, theirCommit: cur.headSha })
            throw conflictError(this.path, m.conflicts, cur.headSha)
          }
          if (m.text === cur.content) {
            this.logger.info('deploy already in place after a concurrent write', { commit: cur.headSha, retries: this.retries })
            return this.result(cur.headSha, false, parseJsonText(cur.content))
          }
          stalePrevious = parseJsonText(cur.content)
          baseText = cur.content
          desired = m.text
          expectedHead = cur.headSha
          continue
        }
        const v = await this.violationOf(err)
        if (v.actualParent !== v.expectedHead) return this.settle(v, baseText, appliedOn)
        landed = v.commit
      }
      this.logger.info('deploy committed', { commit: landed, attempts: this.attempts, retries: this.retries, repairs: this.repairs })
      return this.result(landed, true, appliedOn)
    }
  }

  private checkAttempts(landed: string | undefined): void {
    if (this.attempts < this.retry.maxAttempts) return
    this.logger.error('deploy gave up under contention', { attempts: this.attempts, landed })
    throw new DeployContentionError(
      `Could not write ${this.path} after ${this.attempts} attempts because of concurrent writes${landed ? ` (commit ${landed.slice(0, 12)} may still need a repair)` : ''}; try again.`,
    )
  }

  /** The violation a failed write reports (with its parent looked up if the client could not), or rethrows. */
  private async violationOf(err: unknown): Promise<ExpectedHeadViolation> {
    const v = asExpectedHeadViolation(err)
    if (!v) throw err
    if (v.actualParent === '') {
      // The client could not check the parent; look it up (linear history: the next commit back).
      v.actualParent = (await this.deps.repo.log({ ref: v.commit, limit: 2 }))[1]?.sha ?? ''
      if (v.actualParent === '') throw err
    }
    return v
  }

  /**
   * Our deploy commit `v.commit` (the file at `v.expectedHead`, whose text is
   * `baseText`, plus our change) landed on `v.actualParent`, overwriting
   * commits we never read. First the same decision every writer makes about
   * it: does our change conflict with theirs (then it is withdrawn)? Then,
   * until we see a tip whose content is its intended state, we write the
   * intended value of every key that differs (repair.ts). Only then do we
   * return, so no writer's change is lost, ours included.
   */
  private async settle(v: ExpectedHeadViolation, baseText: string, appliedOn: unknown): Promise<ApplyResult> {
    const { repo } = this.deps
    const author = this.deps.author ?? DEFAULT_AUTHOR
    const cache = new HistoryCache(repo, this.path)
    const deployCommit = v.commit
    let ourCommit = v.commit
    let repairCommit: string | undefined
    this.repairs++
    const baseDoc = parseJsonText(baseText)
    const lost = await clobberedChanges({
      repo,
      path: this.path,
      environment: this.environment,
      expectedHead: v.expectedHead,
      actualParent: v.actualParent,
      baseText,
      cache,
    })
    const conflicts = intentConflicts(this.effective(baseDoc), lost.changes, baseDoc)
    const finish = (): ApplyResult => {
      if (conflicts.length > 0) {
        this.logger.warn('deploy conflict: our change was withdrawn', { conflicts, commit: deployCommit, repairCommit })
        throw conflictError(this.path, conflicts, v.actualParent)
      }
      this.logger.info('deploy committed', { commit: deployCommit, attempts: this.attempts, retries: this.retries, repairs: this.repairs })
      return this.result(deployCommit, true, appliedOn, repairCommit ? { repairCommit } : {})
    }

    for (;;) {
      await this.backoff()
      const tip = await this.readFile()
      const tipDoc = this.parseFile(tip.content)
      const d = await divergence({ repo, path: this.path, environment: this.environment, tip: tip.headSha, cache })
      this.logger.warn('write landed on an unexpected parent; restoring the intended state', {
        expectedHead: v.expectedHead,
        actualParent: v.actualParent,
        commit: ourCommit,
        tip: tip.headSha,
        exact: lost.exact && d.exact,
        restore: d.fixes.map((f) => f.pointer),
        conflicts: conflicts.length,
      })
      if (d.fixes.length === 0) return finish()
      this.checkAttempts(ourCommit)
      this.attempts++
      const { text } = applyAssignments(tip.content, d.fixes, this.path)
      const changes: DeployTrailers['changes'] = d.fixes.map((f) => ({
        pointer: f.pointer,
        previous: orNull(getAt(tipDoc, f.tokens)),
        current: orNull(f.value),
        ...(f.value === ABSENT ? { removed: true } : {}),
      }))
      const message = conflicts.length > 0
        ? this.repairMessage('revert', deployCommit, v.actualParent, changes, tip.headSha)
        : this.repairMessage('restore', ourCommit, v.actualParent, changes, tip.headSha)
      try {
        repairCommit = (await this.write(text, { message, expectedHead: tip.headSha, authorName: author.name, authorEmail: author.email })).commit
        // Landed on the tip we read: the file now is that tip's intended state.
        return finish()
      } catch (err) {
        if (isRepoBusy(err) || isStaleHead(err)) {
          this.retries++
          continue
        }
        const w = await this.violationOf(err)
        repairCommit = w.commit
        if (w.actualParent === w.expectedHead) return finish()
        // Our repair overwrote newer commits in turn: look again.
        ourCommit = w.commit
        this.repairs++
      }
    }
  }
}

function parseEventTime(value: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (Number.isNaN(ms)) throw new ValidationError('eventTime must be an ISO 8601 time.', 'eventTime')
  return ms
}

function heldError(environment: string, hold: Hold): EnvironmentHeldError {
  return new EnvironmentHeldError(
    `${environment} is held${hold.by ? ` by ${hold.by}` : ''}: ${hold.reason}. Release the hold, or pass overrideHold where the policy allows it.`,
    hold,
  )
}

function conflictError(path: string, conflicts: MergeConflict[], theirCommit: string | undefined): DeployConflictError {
  const c = conflicts[0]!
  const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more key(s))` : ''
  return new DeployConflictError(
    `Conflict in ${path}: another deploy${theirCommit ? ` (${theirCommit.slice(0, 12)})` : ''} changed ${c.pointer} to ${JSON.stringify(c.theirs ?? null)} while this one was setting it to ${JSON.stringify(c.ours ?? null)}${more}. Nothing of this change was kept; read the current value and retry if it should still apply.`,
    conflicts,
    theirCommit,
  )
}
