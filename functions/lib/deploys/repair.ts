/**
 * What a write clobbered on a server that ignores `expectedHead`: the
 * *genuine* changes made by the commits between the head we expected (E)
 * and the parent our commit actually landed on (P).
 *
 * Why not simply diff(E → P)? Because P may itself be a clobbering commit
 * whose own repair is still pending: its content then "reverts" keys other
 * writers had set, and restoring that would undo their deploys a second
 * time. So each commit in (E, P] contributes only what it meant to change:
 *  - a repair commit: the values it restored (its Deploy-Change trailers);
 *  - a deploy commit whose Deploy-Base is its parent (the write was checked):
 *    its Deploy-Change trailers;
 *  - a deploy commit that landed blind (Deploy-Base is not its parent): its
 *    trailers if its change did not conflict with the genuine changes between
 *    its base and its parent, nothing otherwise — exactly the decision its own
 *    writer makes (`intentConflicts`), so every writer sees the same history;
 *  - any other commit (a person, another tool): its diff against its parent.
 * When the server's Log has no full messages (githosted today), our commit
 * subjects end with a base marker `(base <sha>)` and the change of a commit
 * is read from the file's content (at its base, or at its parent) instead of
 * its trailers. Only when E is out of reach (more than WINDOW commits raced
 * past) do we fall back to diff(E → P): best effort, logged as inexact.
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { parsePointer } from './json-pointer.js'
import { parseJsonText } from './json-text.js'
import { ABSENT, type Lookup, getAt, keyDiff, lookupEqual, setAt } from './json-values.js'
import { isNotFound } from './errors.js'
import type { MergeConflict } from './merge.js'
import { type DeployTrailers, parseDeployTrailers } from './trailers.js'

export interface GenuineChange {
  pointer: string
  tokens: string[]
  value: Lookup
}

/** How far back we look for E from P; writes racing past this many commits fall back to diffing. */
const WINDOW = 100

function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

function fromDiff(before: unknown, after: unknown): GenuineChange[] {
  return keyDiff(before, after).map((d) => ({ pointer: pointerOf(d.tokens), tokens: d.tokens, value: d.value }))
}

function fromTrailers(t: DeployTrailers): GenuineChange[] {
  const out: GenuineChange[] = []
  for (const ch of t.changes) {
    try {
      out.push({ pointer: ch.pointer, tokens: parsePointer(ch.pointer), value: ch.removed ? ABSENT : (ch.current ?? null) })
    } catch {
      // A hand-written trailer with a bad pointer names nothing we can restore.
    }
  }
  return out
}

/**
 * Which of `intent`'s keys another writer's genuine changes set to a
 * different value. `baseDoc` is the file both started from. Shared by the
 * writer deciding about its own commit and by everyone re-evaluating that
 * commit later, so the decision is the same everywhere.
 */
export function intentConflicts(
  intent: ReadonlyArray<{ pointer: string; tokens: readonly string[]; value: Lookup }>,
  theirs: readonly GenuineChange[],
  baseDoc: unknown,
): MergeConflict[] {
  let theirDoc: unknown = baseDoc
  for (const g of theirs) theirDoc = setAt(theirDoc, g.tokens, g.value)
  const show = (v: Lookup) => (v === ABSENT ? undefined : v)
  // A conflict: they changed our key (from the base value) to something other than our value.
  return intent
    .filter((a) => !lookupEqual(getAt(theirDoc, a.tokens), getAt(baseDoc, a.tokens)))
    .filter((a) => !lookupEqual(getAt(theirDoc, a.tokens), a.value))
    .map((a) => ({ pointer: a.pointer, ours: show(a.value), theirs: show(getAt(theirDoc, a.tokens)), base: show(getAt(baseDoc, a.tokens)) }))
}

class Window {
  private readonly memo = new Map<number, Promise<GenuineChange[]>>()
  private readonly docs = new Map<string, Promise<unknown>>()

  constructor(
    private readonly repo: RepoHandle,
    private readonly path: string,
    private readonly environment: string,
    /** Newest first, starting at P (linear history: commits[i + 1] is the parent of commits[i]). */
    readonly commits: CommitInfo[],
    /** Shas of the commits that touched `path` (only needed without full messages). */
    private readonly touching?: ReadonlySet<string>,
  ) {}

  indexOf(sha: string): number {
    return this.commits.findIndex((c) => c.sha === sha)
  }

  doc(ref: string): Promise<unknown> {
    let d = this.docs.get(ref)
    if (!d) {
      d = this.repo.read(this.path, { ref }).then(
        (f) => parseJsonText(f.content, `${this.path} at ${ref.slice(0, 12)}`),
        (err) => {
          if (isNotFound(err)) return ABSENT
          throw err
        },
      )
      this.docs.set(ref, d)
    }
    return d
  }

  /** Genuine changes of the commits strictly newer than index `from` down to index `to` (inclusive), oldest first. */
  async between(from: number, to: number): Promise<GenuineChange[]> {
    const out: GenuineChange[] = []
    for (let i = from - 1; i >= to; i--) out.push(...(await this.contribution(i)))
    return out
  }

  contribution(i: number): Promise<GenuineChange[]> {
    let p = this.memo.get(i)
    if (!p) {
      p = this.evaluate(i)
      this.memo.set(i, p)
    }
    return p
  }

  private async evaluate(i: number): Promise<GenuineChange[]> {
    const c = this.commits[i]!
    const parent = this.commits[i + 1]
    const t = parseDeployTrailers(c.message)
    if (t) {
      if (t.environment !== this.environment) return []
      const changes = fromTrailers(t)
      if (t.source === 'repair' || !t.baseCommit || !parent || t.baseCommit === parent.sha) return changes
      // Landed blind: keep its change only if its writer will (no conflict with what it overwrote).
      const b = this.indexOf(t.baseCommit)
      if (b <= i) return changes
      const theirs = await this.between(b, i + 1)
      const baseDoc = await this.doc(t.baseCommit)
      return intentConflicts(changes, theirs, baseDoc).length > 0 ? [] : changes
    }
    if (!parent) return []
    if (!c.message) {
      // No full messages (githosted today): the subject's base marker stands in for the trailers.
      if (this.touching && !this.touching.has(c.sha)) return []
      const m = BASE_MARKER.exec(c.subject)
      const b = m ? this.commits.findIndex((x, k) => k > i && x.sha.startsWith(m[1]!)) : -1
      if (m && b > i + 1) {
        const baseDoc = await this.doc(this.commits[b]!.sha)
        const after = await this.doc(c.sha)
        if (baseDoc === ABSENT || after === ABSENT) return []
        const changes = fromDiff(baseDoc, after)
        if (isRepairSubject(c.subject)) return changes
        const theirs = await this.between(b, i + 1)
        return intentConflicts(changes, theirs, baseDoc).length > 0 ? [] : changes
      }
    }
    const [before, after] = await Promise.all([this.doc(parent.sha), this.doc(c.sha)])
    if (before === ABSENT || after === ABSENT) return []
    return fromDiff(before, after)
  }
}

/**
 * The genuine changes to `path` made after `expectedHead` up to and
 * including `actualParent`, oldest first (a later entry for a pointer
 * supersedes an earlier one). `baseText` is the file at `expectedHead`.
 */
export async function clobberedChanges(input: {
  repo: RepoHandle
  path: string
  environment: string
  expectedHead: string
  actualParent: string
  baseText: string
}): Promise<{ changes: GenuineChange[]; exact: boolean }> {
  const { repo, path } = input
  const commits = await repo.log({ ref: input.actualParent, limit: WINDOW })
  const e = commits.findIndex((c) => c.sha === input.expectedHead)
  const messages = commits.slice(0, Math.max(e, 0)).every((c) => typeof c.message === 'string' && c.message !== '')
  const touching = messages
    ? undefined
    : new Set((await repo.log({ ref: input.actualParent, path, limit: WINDOW })).map((c) => c.sha))
  const w = new Window(repo, path, input.environment, commits, touching)
  if (e < 0) {
    const base = parseJsonText(input.baseText, path)
    const theirs = await w.doc(input.actualParent)
    return { changes: theirs === ABSENT ? [] : fromDiff(base, theirs), exact: false }
  }
  return { changes: await w.between(e, 0), exact: true }
}

/**
 * Appended to our commit subjects when the server returns no full messages:
 * it names the commit the change was computed on, which is what a later
 * writer needs to tell a blind write's own change from what it overwrote.
 */
export function baseMarker(baseCommit: string): string {
  return `(base ${baseCommit.slice(0, 12)})`
}

const BASE_MARKER = /\(base ([0-9a-f]{7,40})\)$/

/** Our repair commits' subjects (see apply.ts); everything else with a marker is a deploy. */
export function isRepairSubject(subject: string): boolean {
  return subject.startsWith('Restore changes to ') || /^Revert [0-9a-f]{7,40}: conflicting deploy/.test(subject)
}
