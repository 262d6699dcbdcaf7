/**
 * Anchored globs for policy conditions. Deliberately tiny: `*` matches any
 * run of characters except `/` and `:` (so it stays inside one path segment
 * and one `sub` field), `**` as a whole `/`-segment matches any number of
 * segments (still never a `:`), and every other character is literal. There
 * is no regex syntax to get wrong or to inject, and no regex engine: a
 * backtracking one took minutes on `refs/tags/v*.*.*` against a long run of
 * dots.
 */

export interface Glob {
  pattern: string
  /** The text before the first wildcard (the whole pattern if it has none). */
  literalPrefix: string
  hasWildcard: boolean
  test(value: string): boolean
}

const MAX_PATTERN_LENGTH = 512
// Between two `**`s the matcher tries each start position, so that run's length bounds its work per character.
const MAX_SEGMENTS_BETWEEN_DEEP = 8

/**
 * Why a pattern is unacceptable, or undefined if it is fine. Rejects empty
 * patterns, patterns made only of wildcards and separators (they match
 * nearly anything: leave the condition out instead), `**` that is not a whole
 * path segment, and control characters.
 */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'empty pattern'
  if (pattern.trim() !== pattern) return 'pattern has leading or trailing whitespace'
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'pattern contains control characters'
  if (/^[*/:]+$/.test(pattern)) return `pattern "${pattern}" matches almost anything; omit the condition instead`
  if (pattern.includes('***')) return 'pattern contains "***"; use "*" or "**"'
  const doubleStar = /\*\*/g
  let m: RegExpExecArray | null
  while ((m = doubleStar.exec(pattern))) {
    const before = m.index === 0 ? '/' : pattern[m.index - 1]
    const after = m.index + 2 === pattern.length ? '/' : pattern[m.index + 2]
    if (before !== '/' || after !== '/') {
      return `"**" must be a whole path segment (like refs/heads/** or a/**/b); use "*" within a segment`
    }
  }
  if (pattern.split('**').length > 3) return 'pattern has more than two "**"'
  if (pattern.split('**').length === 3) {
    const between = (pattern.split('**')[1] as string).split('/').length - 2
    if (between > MAX_SEGMENTS_BETWEEN_DEEP) {
      return `at most ${MAX_SEGMENTS_BETWEEN_DEEP} segments between two "**" (matching stays linear)`
    }
  }
  return undefined
}

/** One `/`-segment of a pattern: `**` (any number of whole segments) or literal text with `*`s. */
type SegmentPattern = { deep: true } | { deep: false; parts: string[] }

/**
 * Whether `value` (which holds no `/` or `:`) matches a segment pattern split at its `*`s.
 * Greedy leftmost placement of each literal part is exact for `*`-only patterns, and each
 * part is found with one `indexOf`, so this never backtracks.
 */
function segmentMatches(parts: string[], value: string): boolean {
  if (parts.length === 1) return value === parts[0]
  const first = parts[0] as string
  const last = parts[parts.length - 1] as string
  if (value.length < first.length + last.length) return false
  if (!value.startsWith(first) || !value.endsWith(last)) return false
  let at = first.length
  const end = value.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string
    const found = value.indexOf(part, at)
    if (found === -1 || found + part.length > end) return false
    at = found + part.length
  }
  return true
}

/** A run of segment patterns between `**`s, with the order to try them in. */
interface Run {
  segments: SegmentPattern[]
  /** Most literal text first: a mismatch at a start position is then usually found in one step. */
  order: number[]
}

function literalLength(p: SegmentPattern): number {
  return p.deep ? 0 : p.parts.reduce((n, part) => n + part.length, 0) + (p.parts.length === 1 ? 1 : 0)
}

function toRun(segments: SegmentPattern[]): Run {
  const order = segments.map((_, i) => i).sort((a, b) => literalLength(segments[b] as SegmentPattern) - literalLength(segments[a] as SegmentPattern))
  return { segments, order }
}

/** Whether a run matches `values` starting at `from`, one segment each. */
function runMatches(run: Run, values: string[], from: number): boolean {
  for (const i of run.order) {
    const p = run.segments[i] as SegmentPattern
    if (p.deep || !segmentMatches(p.parts, values[from + i] as string)) return false
  }
  return true
}

/**
 * Matches one `:`-free piece segment by segment. The runs between `**`s have a
 * fixed length in segments, so placing each at its leftmost fit is exact (it
 * leaves the most room for the rest) and nothing is ever retried.
 * `endsDeep`: the piece ends in the pattern's final `**`, which needs at least
 * one character after its `/`.
 */
function pieceMatches(runs: Run[], endsDeep: boolean, values: string[]): boolean {
  const head = runs[0] as Run
  if (runs.length === 1) return values.length === head.segments.length && runMatches(head, values, 0)
  const tail = runs[runs.length - 1] as Run
  if (values.length < head.segments.length + tail.segments.length) return false
  if (!runMatches(head, values, 0)) return false
  const tailStart = values.length - tail.segments.length
  if (!runMatches(tail, values, tailStart)) return false
  let at = head.segments.length
  for (let r = 1; r < runs.length - 1; r++) {
    const run = runs[r] as Run
    let placed = -1
    for (let i = at; i + run.segments.length <= tailStart; i++) {
      if (runMatches(run, values, i)) {
        placed = i
        break
      }
    }
    if (placed === -1) return false
    at = placed + run.segments.length
  }
  if (endsDeep) {
    // What the final `**` covers: values[at..], which must be more than one empty segment's worth.
    const rest = values.length - at
    if (rest === 0 || (rest === 1 && values[at] === '')) return false
  }
  return true
}

interface CompiledPiece {
  runs: Run[]
  endsDeep: boolean
}

/**
 * Compiles a pattern (validate it first with {@link globProblem}). Matching is
 * linear in the value for the patterns policies use (no regex, no
 * backtracking): split at `:` (which no wildcard crosses), then at `/`, then
 * match segment by segment.
 */
export function compileGlob(pattern: string): Glob {
  const colonPieces = pattern.split(':')
  const pieces: CompiledPiece[] = colonPieces.map((piece, index) => {
    const segments: SegmentPattern[] = piece
      .split('/')
      .map((seg) => (seg === '**' ? { deep: true } : { deep: false, parts: seg.split('*') }))
    const runs: SegmentPattern[][] = [[]]
    for (const seg of segments) {
      if (seg.deep) runs.push([])
      else (runs[runs.length - 1] as SegmentPattern[]).push(seg)
    }
    const endsDeep = index === colonPieces.length - 1 && segments[segments.length - 1]?.deep === true
    return { runs: runs.map(toRun), endsDeep }
  })
  const star = pattern.indexOf('*')
  return {
    pattern,
    literalPrefix: star === -1 ? pattern : pattern.slice(0, star),
    hasWildcard: star !== -1,
    test(value) {
      const values = value.split(':')
      if (values.length !== pieces.length) return false
      return pieces.every((piece, i) => pieceMatches(piece.runs, piece.endsDeep, (values[i] as string).split('/')))
    },
  }
}
