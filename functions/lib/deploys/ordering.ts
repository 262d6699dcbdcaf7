/**
 * Event ordering. Every deploy commit records the time of the request or
 * event that produced it (Deploy-Event-Time); an *event* older than the
 * newest recorded time for its keys is skipped (never an error), so an
 * out-of-order delivery cannot regress an image. Explicit requests (API,
 * rollback, CI job) always apply.
 *
 * The newest time per key is known three ways, and any of them that is newer
 * skips the event: the shared event-order marks (coordination.ts, across
 * containers), the trailers in the file's history (history.ts), and this
 * process's memory (recent.ts), which still works where Log has no full
 * messages.
 */
import type { Logger } from '../observability/logger.js'
import { ValidationError } from '../errors.js'
import { type ApplyDeps, recentDeploys } from './apply-types.js'
import { afterLanding } from './coordination.js'
import { type DeployHistory, watermark } from './history.js'

/** Where a newer value came from: its time (ISO) and the commit that set it. */
export interface NewerChange {
  time: string
  commit: string
}

export function parseEventTime(value: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (Number.isNaN(ms)) throw new ValidationError('eventTime must be an ISO 8601 time.', 'eventTime')
  return ms
}

/** The event-order marks of the keys one deploy changes. */
export class EventOrder {
  constructor(
    private readonly deps: ApplyDeps,
    private readonly environment: string,
    private readonly pointers: string[],
  ) {}

  /** A change to these keys newer than `eventMs`, if any: then the event is stale. */
  async newerThan(eventMs: number, history: DeployHistory | undefined): Promise<NewerChange | undefined> {
    return (await this.shared(eventMs)) ?? this.local(history, eventMs)
  }

  /**
   * After our change landed in `commit`: raises the marks to `markMs` (the
   * time recorded in the commit), this process's only for an event's time.
   */
  async raise(logger: Logger, commit: string, markMs: number, eventMs: number | undefined): Promise<void> {
    if (eventMs !== undefined) {
      for (const p of this.pointers) recentDeploys(this.deps).raiseMark(this.markKey(p), eventMs)
    }
    const c = this.deps.coordination
    if (c) {
      await afterLanding(logger, 'raise the event-order mark', () => c.watermarks.raise(this.deps.repoName, this.environment, this.pointers, { ms: markMs, commit }))
    }
  }

  /** The shared event-order mark, when newer than this event. */
  private async shared(eventMs: number): Promise<NewerChange | undefined> {
    const c = this.deps.coordination
    if (!c) return undefined
    const mark = await c.watermarks.newest(this.deps.repoName, this.environment, this.pointers)
    return mark && mark.ms > eventMs ? { time: new Date(mark.ms).toISOString(), commit: mark.commit } : undefined
  }

  private local(history: DeployHistory | undefined, eventMs: number): NewerChange | undefined {
    const w = history ? watermark(history, this.pointers) : undefined
    if (w && Date.parse(w.time) > eventMs) return w
    for (const p of this.pointers) {
      const mark = recentDeploys(this.deps).mark(this.markKey(p))
      if (mark !== undefined && mark > eventMs) return { time: new Date(mark).toISOString(), commit: '(in-process)' }
    }
    return undefined
  }

  private markKey(pointer: string): string {
    return `${this.deps.repoName}|${this.environment}|mark|${pointer}`
  }
}
