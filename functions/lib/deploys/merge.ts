/**
 * Key-level three-way merge of JSON config files. Used both when a write
 * found a moved head (re-apply our change on the new content) and when a
 * server that ignores `expectedHead` let our write land on top of commits we
 * never saw (restore what we clobbered). The result is always built by
 * editing *their* text, so their formatting and their changes survive.
 */
import { formatPointer } from './json-pointer.js'
import { type Assignment, applyAssignments } from './json-text.js'
import { parseJsonText } from './json-parse.js'
import { ABSENT, type Lookup, getAt, keyDiff, lookupEqual } from './json-values.js'

export interface MergeConflict {
  pointer: string
  /** The value our side wanted (undefined when ours removed the key). */
  ours: unknown
  /** The value the other writer put there (undefined when they removed it). */
  theirs: unknown
  /** The value both started from. */
  base: unknown
}

export interface MergeResult {
  /** Their text with our non-conflicting changes applied (unchanged if nothing to apply). */
  text: string
  /** Conflicts on the caller's own intent keys. When non-empty, none of the intent was applied. */
  conflicts: MergeConflict[]
  /** Conflicts on other keys (restorations of clobbered data); theirs was kept. */
  dropped: MergeConflict[]
  /** Pointers whose value was taken from ours. */
  applied: string[]
}

const show = (v: Lookup): unknown => (v === ABSENT ? undefined : v)

/**
 * Merges the change base→ours into theirs, key by key.
 *
 * For each key ours changed relative to base: if theirs still holds the base
 * value, ours is applied; if theirs already holds our value, nothing is
 * needed; otherwise both changed it differently — a conflict, and theirs is
 * kept. `intent` lists the keys the caller asked to change: a conflict on
 * any of them abandons the whole intent (a deploy is all-or-nothing), while
 * conflicts elsewhere keep theirs and are reported in `dropped`.
 */
export function merge3(input: {
  baseText: string
  oursText: string
  theirsText: string
  intent: ReadonlyArray<readonly string[]>
}): MergeResult {
  const base = parseJsonText(input.baseText, 'the base version')
  const ours = parseJsonText(input.oursText, 'our version')
  const theirs = parseJsonText(input.theirsText, 'the current file')
  const intentKeys = new Set(input.intent.map((t) => formatPointer(t)))

  // Our side's key-level changes, plus the intent keys (an intent key may hold a whole object).
  const changes = new Map<string, string[]>()
  for (const d of keyDiff(base, ours)) changes.set(formatPointer(d.tokens), d.tokens)
  for (const t of input.intent) changes.set(formatPointer(t), [...t])

  const toApply: Array<Assignment & { pointer: string; intent: boolean }> = []
  const conflicts: MergeConflict[] = []
  const dropped: MergeConflict[] = []
  for (const [pointer, tokens] of changes) {
    // A diff entry inside an intent key is covered by the intent key itself.
    if (!intentKeys.has(pointer) && [...intentKeys].some((k) => pointer.startsWith(k + '/'))) continue
    const b = getAt(base, tokens)
    const o = getAt(ours, tokens)
    const t = getAt(theirs, tokens)
    if (lookupEqual(o, b) || lookupEqual(t, o)) continue
    const isIntent = intentKeys.has(pointer)
    if (lookupEqual(t, b)) {
      toApply.push({ tokens, value: o, pointer, intent: isIntent })
      continue
    }
    const c = { pointer, ours: show(o), theirs: show(t), base: show(b) }
    if (isIntent) conflicts.push(c)
    else dropped.push(c)
  }
  const chosen = conflicts.length > 0 ? toApply.filter((a) => !a.intent) : toApply
  // Parents before children, so a restored object is in place before a key inside it.
  chosen.sort((a, b) => a.tokens.length - b.tokens.length)
  const { text } = applyAssignments(input.theirsText, chosen, 'the current file')
  return { text, conflicts, dropped, applied: chosen.map((a) => a.pointer) }
}
