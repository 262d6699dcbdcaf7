/**
 * Anchored globs for policy conditions. Deliberately tiny: `*` matches any
 * run of characters except `/` and `:` (so it stays inside one path segment
 * and one `sub` field), `**` as a whole `/`-segment matches any number of
 * segments (still never a `:`), and every other character is literal. There
 * is no regex syntax to get wrong or to inject.
 */

export interface Glob {
  pattern: string
  /** The text before the first wildcard (the whole pattern if it has none). */
  literalPrefix: string
  hasWildcard: boolean
  test(value: string): boolean
}

const MAX_PATTERN_LENGTH = 512
const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g

function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&')
}

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
  return undefined
}

/** Compiles a pattern (validate it first with {@link globProblem}). */
export function compileGlob(pattern: string): Glob {
  let source = ''
  let i = 0
  while (i < pattern.length) {
    if (pattern.startsWith('**', i)) {
      const atStart = i === 0
      const atEnd = i + 2 === pattern.length
      if (atStart && !atEnd) {
        // `**/x`: zero or more leading segments.
        source += '(?:[^:]*/)?'
        i += 3
      } else if (atEnd) {
        // `x/**`: one or more trailing segments (the `/` was already emitted).
        source += '[^:]+'
        i += 2
      } else {
        // `a/**/b`: the `/` before was emitted; zero or more middle segments.
        source += '(?:[^:]*/)?'
        i += 3
      }
    } else if (pattern[i] === '*') {
      source += '[^/:]*'
      i += 1
    } else {
      source += escapeRegex(pattern[i] as string)
      i += 1
    }
  }
  const re = new RegExp(`^${source}$`)
  const star = pattern.indexOf('*')
  return {
    pattern,
    literalPrefix: star === -1 ? pattern : pattern.slice(0, star),
    hasWildcard: star !== -1,
    test: (value) => re.test(value),
  }
}
