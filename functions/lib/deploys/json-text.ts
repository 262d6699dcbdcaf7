/**
 * Formatting-preserving edits of JSON text. The scanner (json-parse.ts)
 * records where every value and key sits in the text; an edit replaces only
 * the bytes of the value it changes (or inserts/removes one member, in the
 * file's own indentation, key separator and line endings). Everything else —
 * key order, indentation, trailing newline, CRLF, number spelling — is left as
 * it was, so a scalar change is a one-line diff.
 */
import { ValidationError } from '../errors.js'
import { ExactNumber } from './exact-number.js'
import { formatPointer } from './json-pointer.js'
import { type JsonMember, type JsonNode, parseJsonText, scanJson, stringifyExact } from './json-parse.js'
import { ABSENT, type Lookup, getAt, jsonEqual, lookupEqual, setAt } from './json-values.js'

/** The file's conventions, learned from the text so inserted members look native. */
interface Style {
  eol: string
  unit: string
}

function detectStyle(text: string): Style {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const m = /\n([ \t]+)\S/.exec(text)
  return { eol, unit: m ? m[1]! : '  ' }
}

function lineIndent(text: string, pos: number): string {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1
  return /^[ \t]*/.exec(text.slice(lineStart, pos))![0]
}

/** Serializes a value to sit at `pos`: containers are pretty-printed in the file's style. */
function render(value: unknown, indent: string, style: Style): string {
  if (value instanceof ExactNumber) return value.text
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  const pretty = stringifyExact(value, style.unit)
  return pretty.replaceAll('\n', style.eol + indent)
}

/** Finds the member for `key` (the last one, as JSON.parse keeps the last duplicate). */
function findMember(node: JsonNode & { kind: 'object' }, key: string): JsonMember | undefined {
  for (let k = node.members.length - 1; k >= 0; k--) if (node.members[k]!.key === key) return node.members[k]
  return undefined
}

function arrayIndex(token: string, length: number, allowAppend: boolean): number | undefined {
  if (token === '-') return allowAppend ? length : undefined
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined
  const n = Number(token)
  return n < length || (allowAppend && n === length) ? n : undefined
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end)
}

/** Inserts a new member as the last one of `obj`, in the object's existing layout. */
function insertMember(text: string, obj: JsonNode & { kind: 'object' }, key: string, value: unknown, style: Style): string {
  const keyText = JSON.stringify(key)
  const last = obj.members[obj.members.length - 1]
  if (last) {
    // Reuse what sits between the previous separator and the last key (newline + indent, or a space).
    const prev = obj.members[obj.members.length - 2]
    const leadStart = prev ? text.indexOf(',', prev.value.end) + 1 : obj.start + 1
    const lead = text.slice(leadStart, last.keyStart)
    const sep = text.slice(last.keyEnd, last.value.start)
    const indent = lineIndent(text, last.keyStart)
    return splice(text, last.value.end, last.value.end, `,${lead}${keyText}${sep}${render(value, indent, style)}`)
  }
  if (!text.trim().includes('\n')) return splice(text, obj.start, obj.end, `{${keyText}: ${render(value, '', style)}}`)
  const outer = lineIndent(text, obj.start)
  const inner = outer + style.unit
  return splice(text, obj.start, obj.end, `{${style.eol}${inner}${keyText}: ${render(value, inner, style)}${style.eol}${outer}}`)
}

function appendItem(text: string, arr: JsonNode & { kind: 'array' }, value: unknown, style: Style): string {
  const last = arr.items[arr.items.length - 1]
  if (last) {
    const prev = arr.items[arr.items.length - 2]
    const leadStart = prev ? text.indexOf(',', prev.end) + 1 : arr.start + 1
    const lead = text.slice(leadStart, last.start)
    return splice(text, last.end, last.end, `,${lead}${render(value, lineIndent(text, last.start), style)}`)
  }
  return splice(text, arr.start, arr.end, `[${render(value, lineIndent(text, arr.start), style)}]`)
}

/** Builds `{a: {b: value}}` for the part of a path that does not exist yet. */
function nest(tokens: readonly string[], value: unknown): unknown {
  return tokens.reduceRight<unknown>((acc, t) => ({ [t]: acc }), value)
}

/**
 * Sets the value at `tokens` (creating missing objects along the way) and
 * returns the new text. Throws ValidationError when the path runs into a
 * scalar or an array index out of range.
 */
export function setValueInText(text: string, tokens: readonly string[], value: unknown): string {
  if (tokens.length === 0) throw new ValidationError('Replacing the whole document is not supported; name a key.', 'pointer')
  const style = detectStyle(text)
  let node = scanJson(text)
  for (let d = 0; d < tokens.length; d++) {
    const t = tokens[d]!
    const rest = tokens.slice(d + 1)
    if (node.kind === 'object') {
      const m = findMember(node, t)
      if (!m) return insertMember(text, node, t, nest(rest, value), style)
      node = m.value
    } else if (node.kind === 'array') {
      const idx = arrayIndex(t, node.items.length, rest.length === 0)
      if (idx === undefined) {
        throw new ValidationError(`JSON pointer ${formatPointer(tokens)}: "${t}" is not a valid index into the array at ${formatPointer(tokens.slice(0, d)) || '/'}.`, 'pointer')
      }
      if (idx === node.items.length) return appendItem(text, node, value, style)
      node = node.items[idx]!
    } else {
      throw new ValidationError(`JSON pointer ${formatPointer(tokens)} goes into a non-object value at ${formatPointer(tokens.slice(0, d)) || '/'}.`, 'pointer')
    }
  }
  return splice(text, node.start, node.end, render(value, lineIndent(text, node.start), style))
}

/** Removes the member or item at `tokens`; a missing key is left as is. */
export function removeValueInText(text: string, tokens: readonly string[]): string {
  if (tokens.length === 0) throw new ValidationError('Removing the whole document is not supported.', 'pointer')
  let node = scanJson(text)
  for (const t of tokens.slice(0, -1)) {
    if (node.kind === 'object') {
      const m = findMember(node, t)
      if (!m) return text
      node = m.value
    } else if (node.kind === 'array') {
      const idx = arrayIndex(t, node.items.length, false)
      if (idx === undefined) return text
      node = node.items[idx]!
    } else {
      return text
    }
  }
  const last = tokens[tokens.length - 1]!
  const entries: Array<{ start: number; end: number }> =
    node.kind === 'object'
      ? node.members.map((m) => ({ start: m.keyStart, end: m.value.end }))
      : node.kind === 'array'
        ? node.items.map((n) => ({ start: n.start, end: n.end }))
        : []
  let k = -1
  if (node.kind === 'object') {
    const m = findMember(node, last)
    k = m ? node.members.indexOf(m) : -1
  } else if (node.kind === 'array') {
    k = arrayIndex(last, node.items.length, false) ?? -1
  }
  if (k < 0) return text
  const entry = entries[k]!
  if (entries.length === 1) return splice(text, node.start + 1, node.end - 1, '')
  // Remove the entry with one adjoining separator: the following one, or for the last entry the preceding.
  if (k < entries.length - 1) return splice(text, entry.start, entries[k + 1]!.start, '')
  return splice(text, entries[k - 1]!.end, entry.end, '')
}

export interface Assignment {
  tokens: string[]
  /** ABSENT removes the key (used only when a merge restores a removal). */
  value: Lookup
}

/**
 * Applies assignments to the text one by one and checks the result: the new
 * text must parse to exactly the old document with those assignments, or the
 * edit is refused (an internal error: the edit would have changed something
 * it was not asked to).
 */
export function applyAssignments(text: string, assignments: readonly Assignment[], what = 'the file'): { text: string; doc: unknown } {
  const before = parseJsonText(text, what)
  let expected = before
  let out = text
  for (const a of assignments) {
    if (lookupEqual(getAt(expected, a.tokens), a.value)) continue
    out = a.value === ABSENT ? removeValueInText(out, a.tokens) : setValueInText(out, a.tokens, a.value)
    expected = setAt(expected, a.tokens, a.value)
  }
  const after = parseJsonText(out, 'the edited file')
  if (!jsonEqual(after, expected)) throw new Error('internal: in-place JSON edit changed more than the requested keys')
  return { text: out, doc: after }
}
