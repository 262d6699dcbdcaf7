/**
 * The write/merge loop. Every write is "the content at the commit we name as
 * expectedHead, plus our change" (apply.ts says what that guarantees):
 *  - RepoBusy: another writer holds githosted's lease, nothing landed; the
 *    same write again after a pause;
 *  - StaleHead: the head moved, nothing landed; re-read and three-way merge
 *    base → ours into the new content, and stop at a same-key conflict;
 *  - the write landed on a parent it never read (a server that ignores
 *    expectedHead): settled as repair.ts describes.
 */
import type { NormalizedAssignment } from './change.js'
import type { DeployFile } from './deploy-file.js'
import type { DeployMessages } from './deploy-message.js'
import { deployConflictError, isRepoBusy, isStaleHead } from './errors.js'
import { parseJsonText } from './json-parse.js'
import { merge3 } from './merge.js'
import { settle } from './repair.js'

/** Where the loop left the file. */
export interface Written {
  /** Our deploy commit, or the tip at which the change was already in place. */
  commit: string
  changed: boolean
  /** The file our change replaced (the source of the result's `previous`). */
  previousDoc: unknown
  repairCommit?: string
}

/**
 * Writes `desired` (= `baseText`, the content at `expectedHead`, + our
 * change) until it lands or a true conflict stops it.
 */
export async function writeLoop(
  file: DeployFile,
  messages: DeployMessages,
  assignments: NormalizedAssignment[],
  start: { expectedHead: string; baseText: string; desired: string },
): Promise<Written> {
  let { expectedHead, baseText, desired } = start
  const intent = assignments.map((a) => a.tokens)
  const appliedOn = parseJsonText(baseText) // what our deploy commit replaced (for `previous`)
  let stalePrevious: unknown = appliedOn

  for (;;) {
    file.checkAttempts(undefined)
    file.attempts++
    const message = messages.deploy(stalePrevious, expectedHead)
    let landed: string
    let repairCommit: string | undefined
    try {
      landed = await file.write(desired, message, expectedHead)
    } catch (err) {
      if (isRepoBusy(err)) {
        // Another writer holds the repo's lease; nothing landed. Same write, after a pause.
        file.retries++
        await file.backoff()
        continue
      }
      if (isStaleHead(err)) {
        // Nothing landed. Re-read and merge our change (base → desired) into the new content.
        file.retries++
        await file.backoff()
        const cur = await file.read()
        file.parse(cur.content)
        const m = merge3({ baseText, oursText: desired, theirsText: cur.content, intent })
        if (m.conflicts.length > 0) {
          file.logger.info('deploy conflict', { conflicts: m.conflicts, theirCommit: cur.headSha })
          throw deployConflictError(file.path, m.conflicts, cur.headSha)
        }
        if (m.text === cur.content) {
          file.logger.info('deploy already in place after a concurrent write', { commit: cur.headSha, retries: file.retries })
          return { commit: cur.headSha, changed: false, previousDoc: parseJsonText(cur.content) }
        }
        stalePrevious = parseJsonText(cur.content)
        baseText = cur.content
        desired = m.text
        expectedHead = cur.headSha
        continue
      }
      const v = await file.violationOf(err)
      landed = v.commit
      if (v.actualParent !== v.expectedHead) repairCommit = (await settle(file, messages, assignments, v, baseText)).repairCommit
    }
    file.logger.info('deploy committed', { commit: landed, attempts: file.attempts, retries: file.retries, repairs: file.repairs })
    return { commit: landed, changed: true, previousDoc: appliedOn, ...(repairCommit ? { repairCommit } : {}) }
  }
}
