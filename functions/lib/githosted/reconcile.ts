/**
 * Finding out what happened to a write whose answer never came (connection
 * reset or timeout after the request was sent). Resending blindly would make
 * a second commit if the first landed, and answering "failed" would be wrong
 * if it did. So we read: the write's own commit is recognised in the
 * branch's recent history by its full message (where Log returns messages,
 * our deploy messages carry unique trailers), or, on servers that return
 * only subjects, by its subject AND the file's content at that commit.
 */
import type { CommitInfo } from './types.js'

/** How far back a write can have landed under normal contention. */
export const RECONCILE_DEPTH = 30

export interface LandedWriteQuery {
  /** Newest first, the branch's recent history (no path filter: parents must line up). */
  history: CommitInfo[]
  /** The branch tip the write was based on, if it carried one: nothing at or before it is ours. */
  expectedHead: string
  /** The commit message we sent. */
  message: string
  /** Whether the file at `commit` holds exactly what we wrote (or is gone, for a delete). */
  contentMatches: (commit: string) => Promise<boolean>
}

function sameMessage(a: string, b: string): boolean {
  // Git normalizes a message's trailing whitespace.
  return a.trimEnd() === b.trimEnd()
}

function subjectOf(message: string): string {
  return (message.split('\n', 1)[0] ?? '').trim()
}

/**
 * The sha of our landed commit, or undefined when it is not in the history.
 * Without `expectedHead` and without full messages, only the tip is
 * accepted: an older commit with the same subject and content may be an
 * earlier, identical request's.
 */
export async function findLandedWrite(q: LandedWriteQuery): Promise<string | undefined> {
  const subject = subjectOf(q.message)
  for (let i = 0; i < q.history.length; i++) {
    const c = q.history[i]!
    if (q.expectedHead !== '' && c.sha === q.expectedHead) return undefined
    if (c.message !== undefined) {
      if (sameMessage(c.message, q.message) && (await q.contentMatches(c.sha))) return c.sha
      continue
    }
    if (q.expectedHead === '' && i > 0) return undefined
    if (c.subject.trim() === subject && (await q.contentMatches(c.sha))) return c.sha
  }
  return undefined
}
