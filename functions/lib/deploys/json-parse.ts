/**
 * Reading JSON text without losing anything: parsing that keeps numbers a
 * double cannot hold exactly (exact-number.ts), stringifying that writes them
 * back as they were, and the span tree (where every key and value sits in the
 * text) that the in-place edits in json-text.ts work on.
 */
import { ValidationError } from '../errors.js'
import { ExactNumber, numberValue } from './exact-number.js'

interface Span {
  start: number
  end: number
}
export type JsonNode =
  | (Span & { kind: 'object'; members: JsonMember[] })
  | (Span & { kind: 'array'; items: JsonNode[] })
  | (Span & { kind: 'scalar' })
export interface JsonMember {
  key: string
  keyStart: number
  /** Offset just past the key's closing quote. */
  keyEnd: number
  value: JsonNode
}

/**
 * Parses `text` as JSON, throwing a ValidationError that names the file on
 * failure. Numbers a double cannot hold exactly come back as ExactNumber
 * (exact-number.ts), so no value is silently rounded.
 */
export function parseJsonText(text: string, what = 'the file'): unknown {
  let plain: unknown
  try {
    plain = JSON.parse(stripBom(text))
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    throw new ValidationError(`${what} is not valid JSON (${msg.slice(0, 160)}); nothing was written.`)
  }
  // The common case: nothing that could be rounded, so JSON.parse's result is exact.
  if (!/\d{16}|\d[.eE]/.test(text) || !hasInexactNumber(text)) return plain
  return valueOf(text, scanJson(text))
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

function hasInexactNumber(text: string): boolean {
  let found = false
  const visit = (n: JsonNode): void => {
    if (found) return
    if (n.kind === 'object') n.members.forEach((m) => visit(m.value))
    else if (n.kind === 'array') n.items.forEach(visit)
    else {
      const t = text.slice(n.start, n.end)
      if (isNumberText(t) && numberValue(t) instanceof ExactNumber) found = true
    }
  }
  visit(scanJson(text))
  return found
}

function isNumberText(t: string): boolean {
  NUMBER.lastIndex = 0
  return NUMBER.test(t) && NUMBER.lastIndex === t.length
}

/** The value of a scanned node, numbers kept exact. */
function valueOf(text: string, n: JsonNode): unknown {
  if (n.kind === 'array') return n.items.map((i) => valueOf(text, i))
  if (n.kind === 'object') {
    const out: Record<string, unknown> = {}
    // defineProperty: a "__proto__" key is data, as with JSON.parse, never the prototype.
    for (const m of n.members) Object.defineProperty(out, m.key, { value: valueOf(text, m.value), enumerable: true, writable: true, configurable: true })
    return out
  }
  const t = text.slice(n.start, n.end)
  return isNumberText(t) ? numberValue(t) : JSON.parse(t)
}

/** JSON.stringify, with ExactNumbers written as their own text. */
export function stringifyExact(value: unknown, space?: string): string {
  const exact: string[] = []
  const marker = `\u0000exact${Math.random().toString(36).slice(2)}:`
  const out = JSON.stringify(
    value,
    // The holder's own value: `v` has already been through toJSON.
    function (this: Record<string, unknown>, k: string, v: unknown) {
      const own = this[k]
      return own instanceof ExactNumber ? `${marker}${exact.push(own.text) - 1}` : v
    },
    space,
  )
  if (exact.length === 0) return out
  const quoted = JSON.stringify(marker).slice(1, -1)
  return out.replace(new RegExp(`"${quoted.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)"`, 'g'), (_m, i: string) => exact[Number(i)]!)
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/** Builds the span tree of a JSON text. The text must already be valid JSON. */
export function scanJson(text: string): JsonNode {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const str = (): string => {
    const start = i
    i++ // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    i++ // closing quote
    return JSON.parse(text.slice(start, i)) as string
  }
  // The members of an object or the items of an array, from its opening bracket past its closing one.
  const entries = <T>(close: string, entry: () => T): T[] => {
    i++ // opening bracket
    const out: T[] = []
    ws()
    if (text[i] === close) {
      i++
      return out
    }
    for (;;) {
      out.push(entry())
      ws()
      if (text[i] === ',') {
        i++
        continue
      }
      i++ // closing bracket
      return out
    }
  }
  const member = (): JsonMember => {
    ws()
    const keyStart = i
    const key = str()
    const keyEnd = i
    ws()
    i++ // colon
    return { key, keyStart, keyEnd, value: value() }
  }
  const value = (): JsonNode => {
    ws()
    const start = i
    const ch = text[i]
    if (ch === '{') {
      const members = entries('}', member)
      return { kind: 'object', start, end: i, members }
    }
    if (ch === '[') {
      const items = entries(']', value)
      return { kind: 'array', start, end: i, items }
    }
    if (ch === '"') {
      str()
      return { kind: 'scalar', start, end: i }
    }
    const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i, i + 400))
    if (!m) throw new ValidationError(`Unexpected character at offset ${i}.`)
    i += m[0].length
    return { kind: 'scalar', start, end: i }
  }
  return value()
}
