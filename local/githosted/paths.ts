import { invalidArgument } from './errors.js'

const MAX_PATH = 4096
// Control characters (NUL included) have no business in a config path and
// make log output and git plumbing ambiguous.
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * Validates a repository file path and returns its segments. Rejects anything
 * that could escape the tree or touch git internals: `..`/`.` and empty
 * segments, absolute paths, backslashes, control characters and `.git`.
 * Runs before any disk access, so a refused request changes nothing.
 */
export function parseFilePath(field: string, path: string): string[] {
  if (path === '') throw invalidArgument(field, 'must not be empty')
  if (path.length > MAX_PATH) throw invalidArgument(field, `longer than ${MAX_PATH} characters`)
  if (CONTROL.test(path)) throw invalidArgument(field, 'contains a control character (NUL?)')
  if (path.includes('\\')) throw invalidArgument(field, 'contains a backslash; use "/"')
  if (path.startsWith('/')) throw invalidArgument(field, 'must be relative (no leading "/")')
  const segments = path.split('/')
  for (const segment of segments) {
    if (segment === '') throw invalidArgument(field, 'contains an empty segment ("//" or trailing "/")')
    if (segment === '.' || segment === '..') {
      throw invalidArgument(field, `contains a "${segment}" segment`)
    }
    if (segment.toLowerCase() === '.git') throw invalidArgument(field, 'contains a ".git" segment')
  }
  return segments
}

/**
 * Like parseFilePath for directories: "" and "/" mean the root (githosted's
 * docs show both for ListFiles) and one trailing "/" is allowed ("src/").
 */
export function parseDirPath(field: string, path: string): string[] {
  if (path === '' || path === '/') return []
  return parseFilePath(field, path.endsWith('/') ? path.slice(0, -1) : path)
}

/** Optional file path filter (Log, Diff): "" means none. */
export function parseOptionalPath(field: string, path: string): string[] | undefined {
  return path === '' ? undefined : parseFilePath(field, path)
}

const BRANCH_CHARS = /^[A-Za-z0-9._/-]+$/

/**
 * A branch name per a conservative subset of git-check-ref-format. Strict on
 * purpose: isomorphic-git maps ref names to files under the git dir.
 */
export function checkBranchName(field: string, name: string): void {
  const bad =
    name.length > 200 ||
    !BRANCH_CHARS.test(name) ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.startsWith('-') ||
    name.includes('//') ||
    name.includes('..') ||
    name.endsWith('.lock') ||
    name.endsWith('.') ||
    name === 'HEAD' ||
    name.split('/').some((s) => s.startsWith('.'))
  if (bad) throw invalidArgument(field, `not a valid branch name: ${JSON.stringify(name.slice(0, 80))}`)
}

/** A revision expression: `HEAD`, a branch, a (possibly abbreviated) SHA, each with `~N`/`^`. */
export function parseRevision(field: string, rev: string): { base: string; back: number } {
  const match = /^([^~^]+)((?:~\d*|\^)*)$/.exec(rev)
  if (!match) throw invalidArgument(field, `not a valid revision: ${JSON.stringify(rev.slice(0, 80))}`)
  const base = match[1] ?? ''
  if (base !== 'HEAD') checkBranchName(field, base)
  let back = 0
  for (const op of (match[2] ?? '').match(/~\d*|\^/g) ?? []) {
    back += op === '^' || op === '~' ? 1 : Number(op.slice(1))
  }
  if (back > 10_000) throw invalidArgument(field, 'ancestor depth too large')
  return { base, back }
}
