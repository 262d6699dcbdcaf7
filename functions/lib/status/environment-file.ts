/**
 * Reads the `image` out of an environment file's text, saying precisely what
 * is wrong when it cannot, so one broken file shows as a problem on its own
 * environment instead of failing the whole status.
 */
import { parsePointer } from '../deploys/json-pointer.js'
import { ABSENT, getAt } from '../deploys/json-values.js'
import type { StatusProblem } from './types.js'

export type ParsedEnvironmentFile =
  | { ok: true; image: string | null; problem?: StatusProblem }
  | { ok: false; problem: StatusProblem }

/** Parses a file and reads its image at `imagePointer` (the layout's, default `/image`). */
export function parseEnvironmentFile(path: string, text: string, imagePointer = '/image'): ParsedEnvironmentFile {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return {
      ok: false,
      problem: { code: 'INVALID_JSON', message: `${path} is not valid JSON: ${describeJsonError(text, err)}` },
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: { code: 'NOT_AN_OBJECT', message: `${path} must hold a JSON object` } }
  }
  const image = getAt(value, parsePointer(imagePointer))
  if (image === ABSENT || typeof image !== 'string' || image === '') {
    return {
      ok: true,
      image: null,
      problem: { code: 'IMAGE_MISSING', message: `${path} has no image string at ${imagePointer}` },
    }
  }
  return { ok: true, image }
}

/** The image at one version of the file, or null when absent or unreadable. */
export function imageOf(text: string, imagePointer = '/image'): string | null {
  const parsed = parseEnvironmentFile('', text, imagePointer)
  return parsed.ok ? parsed.image : null
}

/**
 * V8's message without the snippet of file content it sometimes quotes (a
 * config file may hold values nobody wants echoed), plus a line and column.
 */
export function describeJsonError(text: string, err: unknown): string {
  const raw = err instanceof Error ? err.message : 'parse error'
  const why = raw.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '')
  const at = /at position (\d+)/.exec(raw)
  if (!at) return why
  const before = text.slice(0, Number(at[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return `${why} (line ${line}, column ${column})`
}
