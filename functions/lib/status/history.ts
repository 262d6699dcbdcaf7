/**
 * The deploy log of one environment, from the Git history of its file.
 *
 * Who, from and to come from the deploy trailers where the server returns the
 * full commit message (our `Commit.message` extension). Where it returns only
 * the subject (today's githosted, compat mode), or a commit carries no image
 * trailer (a hand edit, the seed), they are derived instead: the image is
 * read at the commit and at its predecessor in the file's log, and who is the
 * commit author. That costs up to one read per commit, bounded by the limiter.
 *
 * One record per change to the environment: any key (image, replicas, ...),
 * each with before -> after. Commits that change nothing (a reformat, a
 * rewrite with the same values) and repair commits (deploys/repair.ts: they
 * restore what a server that ignored expectedHead let be overwritten) are
 * not deploys and are left out; the log is read deeper to make up for them.
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { formatPointer } from '../deploys/json-pointer.js'
import { parseDeployTrailers, type DeployTrailers } from '../deploys/trailers.js'
import { shortSha } from './commits.js'
import { parsePromotedFrom } from './lineage.js'
import type { Limiter } from './limiter.js'
import { NotFoundError } from '../githosted/errors.js'
import type { DeployRecord, KeyChange } from './types.js'

/** How many commits to ask the log for: room for skipped commits, plus the oldest shown entry's predecessor. */
export function logLimitFor(historyLimit: number): number {
  return historyLimit * 2 + 1
}

/** The file at a commit: its JSON value, ABSENT when the commit deleted it, INVALID when it does not parse. */
const ABSENT = Symbol('absent')
const INVALID = Symbol('invalid')
type FileState = unknown

/** Subjects of repair commits where the server returns no full message (deploys/deploy-message.ts, DeployMessages.repair). */
const REPAIR_SUBJECT = /^(?:Restore changes to \S+ overwritten by [0-9a-f]{7,}|Revert [0-9a-f]{7,}: conflicting deploy to )/

function isRepair(commit: CommitInfo, trailers: DeployTrailers | null | undefined): boolean {
  return trailers?.source === 'repair' || REPAIR_SUBJECT.test(commit.subject)
}

/** Leaves of a JSON document by pointer (arrays are one value: a list reads better whole). */
function leaves(doc: unknown, tokens: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    for (const [k, v] of Object.entries(doc)) leaves(v, [...tokens, k], out)
    if (Object.keys(doc).length === 0 && tokens.length > 0) out.set(formatPointer(tokens), {})
  } else if (tokens.length > 0) {
    out.set(formatPointer(tokens), doc)
  }
  return out
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

function diff(before: FileState, after: FileState): KeyChange[] {
  if (before === INVALID || after === INVALID) return same(before, after) ? [] : [{ pointer: '', from: null, to: null }]
  const a = before === ABSENT ? new Map<string, unknown>() : leaves(before)
  const b = after === ABSENT ? new Map<string, unknown>() : leaves(after)
  const changes: KeyChange[] = []
  for (const pointer of new Set([...a.keys(), ...b.keys()])) {
    const from = a.has(pointer) ? a.get(pointer) : null
    const to = b.has(pointer) ? b.get(pointer) : null
    if (!same(from, to)) changes.push({ pointer, from, to })
  }
  return changes
}

function valueAt(doc: FileState, pointer: string): unknown {
  return doc === ABSENT || doc === INVALID ? null : (leaves(doc).get(pointer) ?? null)
}

/**
 * Builds up to `limit` deploy records from `commits` (the file's log, newest
 * first, as returned for `logLimitFor(limit)`).
 */
export async function buildDeployRecords(
  repo: RepoHandle,
  path: string,
  commits: CommitInfo[],
  limit: number,
  run: Limiter,
  imagePointer = '/image',
): Promise<DeployRecord[]> {
  const files = new Map<string, Promise<FileState>>()
  const fileAt = (sha: string) => {
    let pending = files.get(sha)
    if (!pending) {
      pending = run(() => repo.read(path, { ref: sha })).then(
        (file) => {
          try {
            return JSON.parse(file.content) as unknown
          } catch {
            return INVALID
          }
        },
        (err: unknown) => {
          // The commit deleted the file: nothing after it.
          if (err instanceof NotFoundError) return ABSENT
          throw err
        },
      )
      files.set(sha, pending)
    }
    return pending
  }
  // A short log is the whole history: its oldest commit created the file. A full one lacks the oldest's predecessor.
  const complete = commits.length < logLimitFor(limit)
  const candidates = complete ? commits : commits.slice(0, -1)

  const recordFor = async (commit: CommitInfo, i: number): Promise<DeployRecord | undefined> => {
    const trailers = parseDeployTrailers(commit.message)
    if (isRepair(commit, trailers)) return undefined
    const predecessor = commits[i + 1]
    let changes: KeyChange[]
    let basis: DeployRecord['basis']
    if (trailers && trailers.changes.length > 0) {
      changes = trailers.changes
        .map((c) => ({ pointer: c.pointer, from: c.previous ?? null, to: c.removed ? null : (c.current ?? null) }))
        .filter((c) => !same(c.from, c.to))
      basis = 'trailers'
    } else {
      const [after, before] = await Promise.all([fileAt(commit.sha), predecessor ? fileAt(predecessor.sha) : ABSENT])
      changes = diff(before, after)
      basis = 'content'
    }
    if (changes.length === 0) return undefined
    const imageChange = changes.find((c) => c.pointer === imagePointer)
    // Image columns stay meaningful for key-only changes: the image then is what it was.
    const image = imageChange ? undefined : asImage(valueAt(await fileAt(commit.sha), imagePointer))
    const record: DeployRecord = {
      sha: commit.sha,
      shortSha: shortSha(commit.sha),
      committedAt: commit.committedAt ? commit.committedAt.toISOString() : null,
      who: trailers?.requester || commit.authorName || 'unknown',
      authorName: commit.authorName,
      subject: commit.subject,
      from: imageChange ? asImage(imageChange.from) : (image ?? null),
      to: imageChange ? asImage(imageChange.to) : (image ?? null),
      changes,
      basis,
    }
    if (trailers?.source) record.source = trailers.source
    if (trailers?.runUrl) record.runUrl = trailers.runUrl
    if (trailers?.reason) record.reason = trailers.reason
    const promotedFrom = parsePromotedFrom(trailers?.promotedFrom)
    if (promotedFrom) record.promotedFrom = promotedFrom
    return record
  }

  // Batches of the records still missing, each in parallel: without skipped commits this is one
  // batch reading exactly what the shown entries need; skips cost one more batch each.
  const records: DeployRecord[] = []
  let next = 0
  while (records.length < limit && next < candidates.length) {
    const batch = candidates.slice(next, next + (limit - records.length))
    const built = await Promise.all(batch.map((commit, j) => recordFor(commit, next + j)))
    next += batch.length
    for (const r of built) if (r) records.push(r)
  }
  return records
}

function asImage(value: unknown): string | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? value : JSON.stringify(value)
}
