/**
 * The deploy log of one environment, from the Git history of its file.
 *
 * Who, from and to come from the deploy trailers where the server returns the
 * full commit message (our `Commit.message` extension). Where it returns only
 * the subject (today's githosted, compat mode), or a commit carries no image
 * trailer (a hand edit, the seed), they are derived instead: the image is
 * read at the commit and at its predecessor in the file's log, and who is the
 * commit author. That costs up to limit + 1 extra reads, bounded by the limiter.
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { parseDeployTrailers } from '../deploys/trailers.js'
import { shortSha } from './commits.js'
import { imageOf } from './environment-file.js'
import type { Limiter } from './limiter.js'
import { isNotFound } from './not-found.js'
import type { DeployRecord } from './types.js'

/** How many commits to ask the log for so that the oldest shown entry has its predecessor. */
export function logLimitFor(historyLimit: number): number {
  return historyLimit + 1
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
  const images = new Map<string, Promise<string | null>>()
  const imageAt = (sha: string) => {
    let pending = images.get(sha)
    if (!pending) {
      pending = run(() => repo.read(path, { ref: sha })).then(
        (file) => imageOf(file.content, imagePointer),
        (err: unknown) => {
          // The commit deleted the file: no image after it.
          if (isNotFound(err)) return null
          throw err
        },
      )
      images.set(sha, pending)
    }
    return pending
  }

  const shown = commits.slice(0, limit)
  return Promise.all(
    shown.map(async (commit, i): Promise<DeployRecord> => {
      const trailers = parseDeployTrailers(commit.message)
      const change = trailers?.changes.find((c) => c.pointer === imagePointer)
      const predecessor = commits[i + 1]
      let from: string | null
      let to: string | null
      let basis: DeployRecord['basis']
      if (change) {
        from = asImage(change.previous)
        to = asImage(change.current)
        basis = 'trailers'
      } else {
        // No predecessor in a complete log means this commit created the file.
        ;[to, from] = await Promise.all([imageAt(commit.sha), predecessor ? imageAt(predecessor.sha) : null])
        basis = 'content'
      }
      const record: DeployRecord = {
        sha: commit.sha,
        shortSha: shortSha(commit.sha),
        committedAt: commit.committedAt ? commit.committedAt.toISOString() : null,
        who: trailers?.requester || commit.authorName || 'unknown',
        authorName: commit.authorName,
        subject: commit.subject,
        from,
        to,
        basis,
      }
      if (trailers?.source) record.source = trailers.source
      if (trailers?.runUrl) record.runUrl = trailers.runUrl
      if (trailers?.reason) record.reason = trailers.reason
      return record
    }),
  )
}

function asImage(value: unknown): string | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? value : JSON.stringify(value)
}
