/**
 * Extracts the Connect error code (lower_snake, e.g. `unauthenticated`) from
 * whatever the githosted client threw: a connect-es ConnectError (numeric
 * `code`), a client error with a string `code` or `connectCode`, or either
 * one wrapped as `cause`.
 */
import { CONNECT_CODE_NAMES } from './errors.js'

// Index = numeric Connect code (0 is 'ok', which no error carries but a string code may name).
const NAMES = ['ok', ...CONNECT_CODE_NAMES] as const

export type ConnectCodeName = (typeof NAMES)[number]

const KNOWN = new Set<string>(NAMES)

/** The Connect code name, or undefined when `err` carries none (network failure, bug). */
export function connectCodeOf(err: unknown, depth = 0): ConnectCodeName | undefined {
  if (!err || typeof err !== 'object' || depth > 3) return undefined
  const e = err as { code?: unknown; connectCode?: unknown; cause?: unknown }
  for (const c of [e.connectCode, e.code]) {
    if (typeof c === 'number' && Number.isInteger(c) && c > 0 && c < NAMES.length) return NAMES[c]
    if (typeof c === 'string') {
      const name = c.toLowerCase()
      if (KNOWN.has(name)) return name as ConnectCodeName
    }
  }
  return connectCodeOf(e.cause, depth + 1)
}
