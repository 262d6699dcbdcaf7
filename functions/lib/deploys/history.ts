/**
 * What the Git history of an environment file says about past deploys, read
 * from the deploy trailers of recent commits (Log with the path, newest
 * first): whether a request or event was already applied (idempotency), and
 * the newest event time that set each key (ordering watermark).
 *
 * This needs the full commit message (our `Commit.message` extension). A
 * server that returns only subjects yields `supported: false`; the core then
 * falls back to value comparison (same value → no commit) and its in-process
 * memory, and says so in the log.
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { type DeployTrailers, parseDeployTrailers } from './trailers.js'

/** How many commits of the file we look back. Deploy retries and duplicates arrive within minutes. */
export const HISTORY_LIMIT = 50

export interface DeployRecord {
  commit: CommitInfo
  trailers: DeployTrailers
}

export interface DeployHistory {
  /** False when the server returned no full messages (no trailers readable). */
  supported: boolean
  records: DeployRecord[]
}

export async function readDeployHistory(repo: RepoHandle, path: string, environment: string): Promise<DeployHistory> {
  const commits = await repo.log({ path, limit: HISTORY_LIMIT })
  const supported = commits.length === 0 || commits.some((c) => typeof c.message === 'string' && c.message !== '')
  const records: DeployRecord[] = []
  for (const commit of commits) {
    const trailers = parseDeployTrailers(commit.message)
    if (trailers && trailers.environment === environment) records.push({ commit, trailers })
  }
  return { supported, records }
}

/** The newest commit that applied this idempotency key or event id, if any. */
export function findReplay(
  history: DeployHistory,
  keys: { idempotencyKey?: string; eventId?: string },
): DeployRecord | undefined {
  return history.records.find(
    (r) =>
      r.trailers.source !== 'repair' &&
      ((keys.idempotencyKey !== undefined && r.trailers.idempotencyKey === keys.idempotencyKey) ||
        (keys.eventId !== undefined && r.trailers.eventId === keys.eventId)),
  )
}

/**
 * The newest event time recorded for any of `pointers` (ISO string), with
 * the commit that carries it. Every deploy commit records the time of the
 * request or event that produced it, so this is the ordering watermark: an
 * event older than it must not overwrite the key.
 */
export function watermark(history: DeployHistory, pointers: readonly string[]): { time: string; commit: string } | undefined {
  let best: { time: string; commit: string; ms: number } | undefined
  for (const r of history.records) {
    const t = r.trailers.eventTime
    if (!t || !r.trailers.changes.some((c) => pointers.includes(c.pointer))) continue
    const ms = Date.parse(t)
    if (Number.isNaN(ms)) continue
    if (!best || ms > best.ms) best = { time: t, commit: r.commit.sha, ms }
  }
  return best && { time: best.time, commit: best.commit }
}
