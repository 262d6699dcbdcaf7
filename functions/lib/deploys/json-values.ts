/**
 * Value-level helpers over parsed JSON: equality, lookup by pointer tokens,
 * and the key-level difference between two documents. The merge and the
 * post-edit check work on these, never on text.
 */

import { ExactNumber } from './exact-number.js'

/** A key that is not in the document (distinct from a JSON `null`). */
export const ABSENT: unique symbol = Symbol('absent')
export type Lookup = unknown | typeof ABSENT

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof ExactNumber)
}

/**
 * Structural equality for JSON values (key order does not matter, array
 * order does). ExactNumbers are equal by their text: a double never equals
 * one (it would be the rounded value).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a instanceof ExactNumber || b instanceof ExactNumber) {
    return a instanceof ExactNumber && b instanceof ExactNumber && a.text === b.text
  }
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
  }
  return false
}

/** Reads the value at `tokens`, or ABSENT when any step is missing or not a container. */
export function getAt(doc: unknown, tokens: readonly string[]): Lookup {
  let cur: unknown = doc
  for (const t of tokens) {
    if (isPlainObject(cur)) {
      if (!Object.hasOwn(cur, t)) return ABSENT
      cur = cur[t]
    } else if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(t) || Number(t) >= cur.length) return ABSENT
      cur = cur[Number(t)]
    } else {
      return ABSENT
    }
  }
  return cur
}

export function lookupEqual(a: Lookup, b: Lookup): boolean {
  if (a === ABSENT || b === ABSENT) return a === b
  return jsonEqual(a, b)
}

/**
 * The keys where `b` differs from `a`, as pointer token lists: objects are
 * compared key by key (recursively), anything else (scalars, arrays) as a
 * whole. A key only in `a` shows up with value ABSENT; a new object only in
 * `b` shows up as its keys.
 */
export function keyDiff(a: unknown, b: unknown, prefix: string[] = []): Array<{ tokens: string[]; value: Lookup }> {
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Array<{ tokens: string[]; value: Lookup }> = []
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const inA = Object.hasOwn(a, k)
      const inB = Object.hasOwn(b, k)
      if (inA && inB) out.push(...keyDiff(a[k], b[k], [...prefix, k]))
      // A new non-empty object is described by its keys, so that two writers adding
      // different keys under the same new object do not look like they clash.
      else if (inB && isPlainObject(b[k]) && Object.keys(b[k]).length > 0) out.push(...keyDiff({}, b[k], [...prefix, k]))
      else out.push({ tokens: [...prefix, k], value: inB ? b[k] : ABSENT })
    }
    return out
  }
  return jsonEqual(a, b) ? [] : [{ tokens: prefix, value: b }]
}

/** Returns a deep copy of `doc` with `value` at `tokens` (ABSENT removes the key). */
export function setAt(doc: unknown, tokens: readonly string[], value: Lookup): unknown {
  if (tokens.length === 0) return value === ABSENT ? undefined : value
  const [head, ...rest] = tokens as [string, ...string[]]
  if (Array.isArray(doc)) {
    const copy = doc.slice()
    const idx = head === '-' ? copy.length : Number(head)
    if (value === ABSENT && rest.length === 0) copy.splice(idx, 1)
    else copy[idx] = setAt(copy[idx], rest, value)
    return copy
  }
  const obj = isPlainObject(doc) ? { ...doc } : {}
  if (value === ABSENT && rest.length === 0) delete obj[head]
  else obj[head] = setAt(obj[head], rest, value)
  return obj
}

/** A missing key as trailers and results show it: JSON null. */
export const orNull = (v: unknown): unknown => (v === ABSENT || v === undefined ? null : v)

/** The assignments that change `doc` (the rest are already in place). */
export function changesTo<A extends { tokens: readonly string[]; value: Lookup }>(doc: unknown, assignments: readonly A[]): A[] {
  return assignments.filter((a) => !lookupEqual(getAt(doc, a.tokens), a.value))
}
