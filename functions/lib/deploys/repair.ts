/**
 * Repairing writes that a server let land on an unexpected parent (it
 * ignores `expectedHead`).
 *
 * INVARIANT. Every commit to the file has *intended changes*: what it meant
 * to change, as opposed to the snapshot it wrote. The *intended state* of a
 * commit is the intended state of its parent plus its intended changes.
 * A commit that landed blind (its base is not its parent) wrote a snapshot
 * that may differ from its intended state: it clobbered something.
 * A writer whose commit landed blind returns only after it has seen a tip,
 * written after its own last commit, whose content equals the intended state
 * on every key; until then it writes, on the current tip, the intended value
 * of every key where the two differ, whoever caused the difference.
 * Correctly landed commits keep the tip's content and intended state equal on
 * the keys they change, so once the last blind writer has returned the file
 * holds every intended change, i.e. no successful deploy is lost.
 *
 * Why not just restore what *our* commit overwrote? Because a blind commit
 * can carry a key only because its stale base had it (a snapshot, not an
 * intent). The writer that clobbered that key earlier then sees it in place
 * and stops, and a third writer that clobbers the carrier restores only the
 * carrier's own change: the key is lost although its writer returned success.
 * Comparing the whole file with the intended state has no such gap.
 *
 * This module is that writer's side: `settle` is the loop, `divergence` the
 * comparison with the intended state, `clobberedChanges` what its own commit
 * overwrote (for the conflict decision). What each commit intends, read the
 * same way by every writer, is intended-changes.ts.
 */
import type { RepoHandle } from '../githosted/types.js'
import type { NormalizedAssignment } from './change.js'
import type { DeployFile } from './deploy-file.js'
import type { DeployMessages } from './deploy-message.js'
import { type ExpectedHeadViolation, deployConflictError, isRepoBusy, isStaleHead } from './errors.js'
import { type GenuineChange, HistoryCache, Window, fromDiff, intentConflicts } from './intended-changes.js'
import { applyAssignments } from './json-text.js'
import { parseJsonText } from './json-parse.js'
import { ABSENT, changesTo, getAt, orNull, setAt } from './json-values.js'
import type { DeployTrailers } from './trailers.js'

/** The file whose history a repair step reads, and the cache the steps of one repair share. */
interface FileHistory {
  repo: RepoHandle
  path: string
  environment: string
  cache?: HistoryCache
}

function windowAt(input: FileHistory, ref: string): Promise<Window> {
  const cache = input.cache ?? new HistoryCache(input.repo, input.path)
  return Window.load(input.repo, cache, input.path, input.environment, ref)
}

/**
 * The genuine changes to `path` made after `expectedHead` up to and
 * including `actualParent`, oldest first (a later entry for a pointer
 * supersedes an earlier one). `baseText` is the file at `expectedHead`.
 * Used to decide whether a deploy that landed blind conflicts.
 */
export async function clobberedChanges(
  input: FileHistory & { expectedHead: string; actualParent: string; baseText: string },
): Promise<{ changes: GenuineChange[]; exact: boolean }> {
  const w = await windowAt(input, input.actualParent)
  const e = w.indexOf(input.expectedHead)
  if (e < 0) {
    const base = parseJsonText(input.baseText, input.path)
    const theirs = await w.doc(input.actualParent)
    return { changes: theirs === ABSENT ? [] : fromDiff(base, theirs), exact: false }
  }
  return { changes: await w.between(e, 0), exact: true }
}

/**
 * Where the file at `tip` differs from its intended state: the intended
 * value of each such key (parents before children). Empty when the tip
 * holds every intended change.
 */
export async function divergence(input: FileHistory & { tip: string }): Promise<{ fixes: GenuineChange[]; exact: boolean }> {
  const w = await windowAt(input, input.tip)
  const a = w.anchor()
  if (a <= 0) return { fixes: [], exact: a === w.commits.length - 1 }
  await w.prefetch(a)
  let from = a
  let intended = await w.doc(w.commits[a]!.sha)
  // The file was created within the window: start from its first version.
  while (intended === ABSENT && from > 0) intended = await w.doc(w.commits[--from]!.sha)
  for (const g of await w.between(from, 0)) intended = setAt(intended, g.tokens, g.value)
  const actual = await w.doc(input.tip)
  if (intended === ABSENT || actual === ABSENT || intended === undefined) return { fixes: [], exact: false }
  const fixes = fromDiff(actual, intended).sort((x, y) => x.tokens.length - y.tokens.length)
  return { fixes, exact: a === w.commits.length - 1 }
}

/**
 * Our deploy commit `v.commit` (the file at `v.expectedHead`, whose text is
 * `baseText`, plus our change) landed on `v.actualParent`, overwriting
 * commits we never read. First the same decision every writer makes about
 * it: does our change conflict with theirs (then it is withdrawn, and this
 * throws the conflict once the file is settled)? Then, until we see a tip
 * whose content is its intended state, we write the intended value of every
 * key that differs. Only then do we return, so no writer's change is lost,
 * ours included.
 */
export async function settle(
  file: DeployFile,
  messages: DeployMessages,
  assignments: NormalizedAssignment[],
  v: ExpectedHeadViolation,
  baseText: string,
): Promise<{ repairCommit?: string }> {
  const { repo, path, environment, logger } = file
  const cache = new HistoryCache(repo, path)
  const deployCommit = v.commit
  let ourCommit = v.commit
  let repairCommit: string | undefined
  file.repairs++
  const baseDoc = parseJsonText(baseText)
  const lost = await clobberedChanges({ repo, path, environment, expectedHead: v.expectedHead, actualParent: v.actualParent, baseText, cache })
  const conflicts = intentConflicts(changesTo(baseDoc, assignments), lost.changes, baseDoc)
  const finish = (): { repairCommit?: string } => {
    if (conflicts.length > 0) {
      logger.warn('deploy conflict: our change was withdrawn', { conflicts, commit: deployCommit, repairCommit })
      throw deployConflictError(path, conflicts, v.actualParent)
    }
    return repairCommit ? { repairCommit } : {}
  }

  for (;;) {
    await file.backoff()
    const tip = await file.read()
    const tipDoc = file.parse(tip.content)
    const d = await divergence({ repo, path, environment, tip: tip.headSha, cache })
    logger.warn('write landed on an unexpected parent; restoring the intended state', {
      expectedHead: v.expectedHead,
      actualParent: v.actualParent,
      commit: ourCommit,
      tip: tip.headSha,
      exact: lost.exact && d.exact,
      restore: d.fixes.map((f) => f.pointer),
      conflicts: conflicts.length,
    })
    if (d.fixes.length === 0) return finish()
    file.checkAttempts(ourCommit)
    file.attempts++
    const { text } = applyAssignments(tip.content, d.fixes, path)
    const changes: DeployTrailers['changes'] = d.fixes.map((f) => ({
      pointer: f.pointer,
      previous: orNull(getAt(tipDoc, f.tokens)),
      current: orNull(f.value),
      ...(f.value === ABSENT ? { removed: true } : {}),
    }))
    const message = conflicts.length > 0
      ? messages.repair('revert', deployCommit, v.actualParent, changes, tip.headSha)
      : messages.repair('restore', ourCommit, v.actualParent, changes, tip.headSha)
    try {
      repairCommit = await file.write(text, message, tip.headSha)
      // Landed on the tip we read: the file now is that tip's intended state.
      return finish()
    } catch (err) {
      if (isRepoBusy(err) || isStaleHead(err)) {
        file.retries++
        continue
      }
      const w = await file.violationOf(err)
      repairCommit = w.commit
      if (w.actualParent === w.expectedHead) return finish()
      // Our repair overwrote newer commits in turn: look again.
      ourCommit = w.commit
      file.repairs++
    }
  }
}
