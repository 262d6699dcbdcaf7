/**
 * Turns the client's CommitInfo into the status API's commit shape, with the
 * deploy trailers parsed where the server returned the full message.
 */
import type { CommitInfo } from '../githosted/types.js'
import { parseDeployTrailers } from '../deploys/trailers.js'
import type { CommitSummary } from './types.js'

export function shortSha(sha: string): string {
  return sha.slice(0, 7)
}

export function summarizeCommit(commit: CommitInfo): CommitSummary {
  return {
    sha: commit.sha,
    shortSha: shortSha(commit.sha),
    committedAt: commit.committedAt ? commit.committedAt.toISOString() : null,
    authorName: commit.authorName,
    authorEmail: commit.authorEmail,
    subject: commit.subject,
    trailers: parseDeployTrailers(commit.message) ?? null,
  }
}
