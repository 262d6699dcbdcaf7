/**
 * What a write clobbered on a server that ignores `expectedHead`: the
 * *genuine* changes made by the commits between the head we expected (E)
 * and the parent our commit actually landed on (P).
 *
 * Why not simply diff(E → P)? Because P may itself be a clobbering commit
 * whose own repair is still pending: its content then "reverts" keys that
 * other writers had set, and restoring that would undo their deploys a
 * second time. So each commit in (E, P] contributes only what it meant to
 * change: for deploy and repair commits, their Deploy-Change trailers (a
 * repair lists only the genuine values it restored); for any other commit
 * (a person, another tool), its diff against its parent. When the server's
 * Log has no full messages (no trailers), or E is not within reach, we fall
 * back to diff(E → P) — best effort, documented as such.
 */
import type { RepoHandle } from '../githosted/types.js'
import { parsePointer } from './json-pointer.js'
import { parseJsonText } from './json-text.js'
import { ABSENT, type Lookup, keyDiff } from './json-values.js'
import { isNotFound } from './errors.js'
import { parseDeployTrailers } from './trailers.js'

export interface GenuineChange {
  pointer: string
  tokens: string[]
  value: Lookup
}

/** How far back we look for E from P; writes racing past this many commits fall back to diffing. */
const WINDOW = 100

async function contentAt(repo: RepoHandle, path: string, ref: string): Promise<unknown> {
  try {
    return parseJsonText((await repo.read(path, { ref })).content, `${path} at ${ref.slice(0, 12)}`)
  } catch (err) {
    if (isNotFound(err)) return ABSENT
    throw err
  }
}

function fromDiff(before: unknown, after: unknown): GenuineChange[] {
  return keyDiff(before, after).map((d) => ({ pointer: pointerOf(d.tokens), tokens: d.tokens, value: d.value }))
}

function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

/**
 * The changes to `path` made by the commits after `expectedHead` up to and
 * including `actualParent`, oldest first (a later entry for the same pointer
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
  const base = parseJsonText(input.baseText, path)
  const fallback = async () => ({ changes: fromDiff(base, await contentAt(repo, path, input.actualParent)), exact: false })

  const commits = await repo.log({ ref: input.actualParent, limit: WINDOW })
  const idx = commits.findIndex((c) => c.sha === input.expectedHead)
  if (idx < 0) return fallback()
  const between = commits.slice(0, idx) // newest first, E excluded
  if (between.some((c) => typeof c.message !== 'string' || c.message === '')) return fallback()

  const changes: GenuineChange[] = []
  for (let i = between.length - 1; i >= 0; i--) {
    const c = between[i]!
    const trailers = parseDeployTrailers(c.message)
    if (trailers) {
      // Deploy trailers name one environment's file; other environments' commits do not touch ours.
      if (trailers.environment !== input.environment) continue
      for (const ch of trailers.changes) {
        let tokens: string[]
        try {
          tokens = parsePointer(ch.pointer)
        } catch {
          continue
        }
        changes.push({ pointer: ch.pointer, tokens, value: ch.removed ? ABSENT : (ch.current ?? null) })
      }
      continue
    }
    // A commit without trailers (a person, another tool): what it changed in our file, if anything.
    const parentRef = i + 1 < between.length ? between[i + 1]!.sha : input.expectedHead
    const before = parentRef === input.expectedHead ? base : await contentAt(repo, path, parentRef)
    const after = await contentAt(repo, path, c.sha)
    if (before === ABSENT || after === ABSENT) continue
    changes.push(...fromDiff(before, after))
  }
  return { changes, exact: true }
}
