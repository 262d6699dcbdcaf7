/**
 * RFC 6901 JSON pointers, used to name the keys a deploy changes
 * (`/image`, `/resources/cpu`). Kept strict: a pointer that cannot be parsed
 * is a caller error, never silently reinterpreted.
 */
import { ValidationError } from '../errors.js'

/** Longest pointer we accept; deep paths are a sign of a bad request, not a real config. */
export const MAX_POINTER_LENGTH = 256
const MAX_DEPTH = 16
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Splits a pointer into unescaped reference tokens. `''` is the whole document. */
export function parsePointer(pointer: string, field = 'pointer'): string[] {
  if (typeof pointer !== 'string') throw new ValidationError('A JSON pointer must be a string.', field)
  if (pointer === '') return []
  if (pointer.length > MAX_POINTER_LENGTH) {
    throw new ValidationError(`JSON pointer is longer than ${MAX_POINTER_LENGTH} characters.`, field)
  }
  if (!pointer.startsWith('/')) {
    throw new ValidationError(`JSON pointer "${clip(pointer)}" must start with "/".`, field)
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(pointer)) {
    throw new ValidationError('JSON pointer contains control characters.', field)
  }
  const tokens = pointer.slice(1).split('/')
  if (tokens.length > MAX_DEPTH) throw new ValidationError(`JSON pointer is deeper than ${MAX_DEPTH} levels.`, field)
  return tokens.map((t) => {
    if (/~[^01]|~$/.test(t)) {
      throw new ValidationError(`JSON pointer "${clip(pointer)}" has an invalid "~" escape.`, field)
    }
    const token = t.replaceAll('~1', '/').replaceAll('~0', '~')
    // Keys that mean something to JavaScript objects are refused rather than special-cased everywhere.
    if (RESERVED_KEYS.has(token)) {
      throw new ValidationError(`JSON pointer "${clip(pointer)}" uses the reserved key "${token}".`, field)
    }
    return token
  })
}

/** Joins tokens back into a pointer string. */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

/** True when `a` is `b` or one of its ancestors (so setting both would be ambiguous). */
export function pointerContains(a: readonly string[], b: readonly string[]): boolean {
  if (a.length > b.length) return false
  return a.every((t, i) => t === b[i])
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}
