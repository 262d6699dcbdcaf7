/**
 * The intended changes of each commit to an environment file, read from the
 * file's history the same way by every writer, so that all of them reach the
 * same intended state (repair.ts says why repairs work from intended changes
 * rather than from what commits wrote).
 *
 * Intended changes of a commit, the same for every writer:
 *  - a deploy commit whose base is its parent (the write was checked): its
 *    Deploy-Change trailers (or, without full messages, its diff against its
 *    parent);
 *  - a deploy commit that landed blind: its change if it does not conflict
 *    with the intended changes between its base and its parent, nothing
 *    otherwise — exactly the decision its own writer makes (`intentConflicts`);
 *  - a repair commit: the values it wrote, except on keys that an intended
 *    change between its base and its parent touched (newer intent wins);
 *  - any other commit (a person, another tool): its diff against its parent.
 * When the server's Log has no full messages (githosted today), our commit
 * subjects end with a base marker `(base <sha>)` and the change of a commit
 * is read from the file's content (at its base, or at its parent) instead of
 * its trailers. The intended state starts from the oldest commit within
 * WINDOW commits of the tip (or the newest commit whose base lies beyond
 * it), taken as it is: races longer than that are repaired best effort, and
 * the result says so (`exact: false`).
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { isRepairSubject, markedBase } from './deploy-message.js'
import { formatPointer, parsePointer, pointerContains } from './json-pointer.js'
import { parseJsonText } from './json-parse.js'
import { ABSENT, type Lookup, getAt, keyDiff, lookupEqual, setAt } from './json-values.js'
import { isNotFound } from './errors.js'
import type { MergeConflict } from './merge.js'
import { type DeployTrailers, parseDeployTrailers } from './trailers.js'

export interface GenuineChange {
  pointer: string
  tokens: string[]
  value: Lookup
}

/** How far back we look from the tip; writes racing past this many commits are repaired best effort. */
const WINDOW = 100

/** How many file versions we fetch at once when reasoning from contents. */
const READ_CONCURRENCY = 6

export function fromDiff(before: unknown, after: unknown): GenuineChange[] {
  return keyDiff(before, after).map((d) => ({ pointer: formatPointer(d.tokens), tokens: d.tokens, value: d.value }))
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

const overlaps = (a: readonly string[], b: readonly string[]) => pointerContains(a, b) || pointerContains(b, a)

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

/**
 * File versions and parsed trailers by commit, shared by the repair steps of
 * one deploy (a commit never changes, so later steps reuse earlier work).
 */
export class HistoryCache {
  private readonly docs = new Map<string, Promise<unknown>>()
  private readonly parsed = new Map<string, DeployTrailers | undefined>()

  constructor(
    private readonly repo: RepoHandle,
    private readonly path: string,
  ) {}

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

  trailers(c: CommitInfo): DeployTrailers | undefined {
    if (!this.parsed.has(c.sha)) this.parsed.set(c.sha, parseDeployTrailers(c.message))
    return this.parsed.get(c.sha)
  }
}

/** The file's linear history from a tip, with each commit's intended changes (memoized). */
export class Window {
  private readonly memo = new Map<number, Promise<GenuineChange[]>>()

  constructor(
    private readonly cache: HistoryCache,
    private readonly environment: string,
    /** Newest first (linear history: commits[i + 1] is the parent of commits[i]). */
    readonly commits: CommitInfo[],
    /** Shas of the commits that touched the file. */
    private readonly touching: ReadonlySet<string>,
  ) {}

  static async load(repo: RepoHandle, cache: HistoryCache, path: string, environment: string, ref: string): Promise<Window> {
    const [commits, touching] = await Promise.all([repo.log({ ref, limit: WINDOW }), repo.log({ ref, path, limit: WINDOW })])
    return new Window(cache, environment, commits, new Set(touching.map((c) => c.sha)))
  }

  trailers(i: number): DeployTrailers | undefined {
    return this.cache.trailers(this.commits[i]!)
  }

  indexOf(sha: string): number {
    return this.commits.findIndex((c) => c.sha === sha)
  }

  doc(ref: string): Promise<unknown> {
    return this.cache.doc(ref)
  }

  /**
   * Index of the commit `commits[i]` was computed on, from its trailers or
   * its subject's marker: i + 1 for a checked write, larger for a blind one,
   * -1 when it names a base beyond the window, undefined when it names none.
   */
  baseIndex(i: number): number | undefined {
    const c = this.commits[i]!
    const t = this.trailers(i)
    const base = t ? t.baseCommit : markedBase(c.subject)
    if (!base) return undefined
    return this.commits.findIndex((x, k) => k > i && x.sha.startsWith(base))
  }

  /** Intended changes of the commits strictly newer than index `from` down to index `to` (inclusive), oldest first. */
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

  /**
   * The index the intended state starts from: the oldest commit we have, or
   * the newest commit that names a base beyond the window (its change cannot
   * be told from what it overwrote, so its content is taken as it is).
   */
  anchor(): number {
    let a = this.commits.length - 1
    for (let i = a - 1; i >= 0; i--) {
      if (this.touching.has(this.commits[i]!.sha) && this.baseIndex(i) === -1) a = i
    }
    return a
  }

  /** Loads the file at every commit from `from` to the tip, a few at a time (reasoning from contents reads them all). */
  async prefetch(from: number): Promise<void> {
    const shas = this.commits.slice(0, from + 1).filter((c, i) => i === from || this.touching.has(c.sha)).map((c) => c.sha)
    for (let k = 0; k < shas.length; k += READ_CONCURRENCY) {
      await Promise.all(shas.slice(k, k + READ_CONCURRENCY).map((s) => this.doc(s)))
    }
  }

  private async evaluate(i: number): Promise<GenuineChange[]> {
    const c = this.commits[i]!
    const parent = this.commits[i + 1]
    if (!parent || !this.touching.has(c.sha)) return []
    const t = this.trailers(i)
    if (t && t.environment !== this.environment) return []
    const b = this.baseIndex(i)
    const blind = b !== undefined && b > i + 1
    if (t) {
      const changes = fromTrailers(t)
      return blind ? this.keptOfBlind(changes, t.source === 'repair', b, i) : changes
    }
    if (blind) {
      // No full messages: the subject's base marker stands in for the trailers.
      const [baseDoc, after] = await Promise.all([this.doc(this.commits[b]!.sha), this.doc(c.sha)])
      if (baseDoc === ABSENT || after === ABSENT) return []
      return this.keptOfBlind(fromDiff(baseDoc, after), isRepairSubject(c.subject), b, i)
    }
    const [before, after] = await Promise.all([this.doc(parent.sha), this.doc(c.sha)])
    if (before === ABSENT || after === ABSENT) return []
    return fromDiff(before, after)
  }

  /**
   * What a commit that landed blind (computed on index `b`, landed on i + 1)
   * still intends: a deploy all of its change or nothing (its writer's own
   * decision); a repair its values except where a newer intent touched the key.
   */
  private async keptOfBlind(changes: GenuineChange[], repair: boolean, b: number, i: number): Promise<GenuineChange[]> {
    const theirs = await this.between(b, i + 1)
    if (repair) return changes.filter((g) => !theirs.some((x) => overlaps(x.tokens, g.tokens)))
    const baseDoc = await this.doc(this.commits[b]!.sha)
    return intentConflicts(changes, theirs, baseDoc).length > 0 ? [] : changes
  }
}
