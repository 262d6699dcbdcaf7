/**
 * Request bodies at the API edge: a size limit that answers 413 as a
 * problem, and a reader that accepts what CI scripts actually send.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { ValidationError } from '../errors.js'
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js'

/** Default request body limit: token requests are tiny. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024

/** Hono's bodyLimit (which also counts streamed bodies), throwing PayloadTooLargeError. */
export function limitBody(maxBytes = DEFAULT_MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(maxBytes)
    },
  })
}

export interface ReadFieldsOptions {
  /** Also accept `a=b&c=d` form bodies (the /ci/token compatibility path). */
  allowForm?: boolean
  /** Treat an empty body as `{}` instead of an error. */
  allowEmpty?: boolean
  /** Parses the JSON text instead of JSON.parse (e.g. keeping large numbers exact); throws on bad JSON. */
  parseJson?: (text: string) => unknown
}

/**
 * Reads the body as an object of fields. The raw text is parsed as JSON
 * whatever the Content-Type says, because `curl -d '{...}'` labels a JSON
 * body `application/x-www-form-urlencoded`. A body that does not look like
 * JSON is read as a form when allowed; other media types get 415.
 */
export async function readFields(c: Context, options: ReadFieldsOptions = {}): Promise<Record<string, unknown>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  const text = await c.req.text()
  const trimmed = text.trim()
  if (trimmed === '') {
    if (options.allowEmpty) return {}
    throw new ValidationError('Request body is empty; send a JSON object, e.g. {"repo": "deploy-configs"}.')
  }
  const looksJson = trimmed.startsWith('{') || trimmed.startsWith('[')
  const jsonType = type === 'application/json' || type.endsWith('+json')
  // curl -d and some HTTP clients label JSON bodies as forms or plain text.
  const lenientType = type === '' || type === 'application/x-www-form-urlencoded' || type === 'text/plain'
  if (!jsonType && !lenientType) {
    throw new UnsupportedMediaTypeError(`Content-Type ${type} is not accepted; send application/json.`)
  }
  if (looksJson || jsonType || !options.allowForm) return parseJsonObject(trimmed, options.parseJson)
  const out: Record<string, unknown> = {}
  for (const [k, v] of new URLSearchParams(trimmed)) {
    if (k in out) throw new ValidationError(`Field ${k} is given more than once.`, k)
    out[k] = v
  }
  return out
}

function parseJsonObject(text: string, parse: (text: string) => unknown = JSON.parse): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = parse(text)
  } catch {
    throw new ValidationError('Request body is not valid JSON.')
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('Request body must be a JSON object.')
  }
  return parsed as Record<string, unknown>
}

/** Rejects fields not in `allowed`, naming the first unknown one. */
export function rejectUnknownFields(fields: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(fields)) {
    if (!allowed.includes(k)) {
      throw new ValidationError(`Unknown field "${k.slice(0, 40)}"; allowed fields: ${allowed.join(', ')}.`, k.slice(0, 40))
    }
  }
}
