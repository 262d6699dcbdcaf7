/**
 * Turns a failed Connect unary response into one of our typed errors. The code
 * comes from the JSON error body; when the body is not a Connect error (a proxy
 * page, an empty 502) it comes from the HTTP status, per the Connect protocol's
 * HTTP-to-code table.
 */
import { redact } from '../observability/logger.js'
import { decodeBase64 } from './base64.js'
import type { RepoBusyDetailJson, StaleHeadDetailJson } from './gen/githosted/v1/errors_pb.js'
import { JsonReader } from './json-reader.js'
import { decodeStringFields } from './wire-strings.js'
import {
  CONNECT_CODES,
  githostedError,
  RepoBusyError,
  StaleHeadError,
  type ConnectCode,
  type GithostedError,
  type GithostedErrorInit,
} from './errors.js'

/** One entry of a Connect error body's `details`. */
export interface ConnectErrorDetail {
  type: string
  value?: string
  debug?: unknown
}

/** Connect's mapping for responses whose body is not a Connect error. */
export function codeFromHttpStatus(status: number): ConnectCode {
  switch (status) {
    case 400:
      return 'internal'
    case 401:
      return 'unauthenticated'
    case 403:
      return 'permission_denied'
    case 404:
      return 'unimplemented'
    case 429:
    case 502:
    case 503:
    case 504:
      return 'unavailable'
    default:
      return 'unknown'
  }
}

interface ParsedBody {
  code: ConnectCode
  message: string
  details: ConnectErrorDetail[]
}

/** Parses a Connect error body; undefined when it is not one. */
export function parseErrorBody(text: string): ParsedBody | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  const o = json as Record<string, unknown>
  if (typeof o.code !== 'string' || !CONNECT_CODES.has(o.code)) return undefined
  const details = Array.isArray(o.details)
    ? o.details.filter(
        (d): d is ConnectErrorDetail =>
          typeof d === 'object' && d !== null && typeof (d as { type?: unknown }).type === 'string',
      )
    : []
  return {
    code: o.code as ConnectCode,
    message: typeof o.message === 'string' ? o.message : '',
    details,
  }
}

function detailType(d: ConnectErrorDetail): string {
  // Some servers send the Any-style URL; connect-go sends the bare name.
  return d.type.replace(/^type\.googleapis\.com\//, '')
}

/** A detail message we understand: its type name and its string fields by field number. */
interface DetailSchema<J> {
  typeName: string
  /** Field `i + 1` is `fields[i]`; all of our detail fields are strings. */
  fields: readonly (keyof J & string)[]
}

const STALE_HEAD: DetailSchema<StaleHeadDetailJson> = {
  typeName: 'githosted.v1.StaleHeadDetail',
  fields: ['repoId', 'ref', 'expectedHead', 'actualHead'],
}

const REPO_BUSY: DetailSchema<RepoBusyDetailJson> = {
  typeName: 'githosted.v1.RepoBusyDetail',
  fields: ['repoId', 'operation'],
}

/**
 * Decodes a detail message: the binary `value` first (it is authoritative;
 * base64 std or url, padded or not), the JSON `debug` only if that fails.
 */
function decodeDetail<J>(
  details: ConnectErrorDetail[],
  schema: DetailSchema<J>,
): Record<keyof J & string, string> | undefined {
  const d = details.find((x) => detailType(x) === schema.typeName)
  if (!d) return undefined
  if (typeof d.value === 'string') {
    try {
      return decodeStringFields(decodeBase64(d.value), schema.fields)
    } catch {
      // fall through to debug
    }
  }
  try {
    // debug is the message in proto3 JSON (camelCase or snake_case keys).
    const r = new JsonReader<Record<string, string>>(d.debug)
    return Object.fromEntries(schema.fields.map((f) => [f, r.string(f)])) as Record<
      keyof J & string,
      string
    >
  } catch {
    return undefined
  }
}

/** Removes the token (and anything token-shaped) from text we did not write. */
export function scrub(text: string, token: string | undefined): string {
  let out = text
  if (token && token.length >= 4) out = out.split(token).join('<redacted>')
  return redact(out).slice(0, 500)
}

/**
 * Builds the typed error for a non-200 response.
 * `token` is only used to scrub it out of the upstream message.
 */
export function errorFromResponse(
  httpStatus: number,
  bodyText: string,
  ctx: { procedure: string; requestId: string; token: string | undefined },
): GithostedError {
  const parsed = parseErrorBody(bodyText)
  const code = parsed?.code ?? codeFromHttpStatus(httpStatus)
  const upstream = parsed?.message ? scrub(parsed.message, ctx.token) : `HTTP ${httpStatus}`
  const message = `githosted ${ctx.procedure} failed: ${code}: ${upstream}`
  const init: GithostedErrorInit = {
    connectCode: code,
    procedure: ctx.procedure,
    requestId: ctx.requestId,
    httpStatus,
  }
  return typedError(message, init, parsed?.details ?? [])
}

/** Picks the error class from the code and the details. */
export function typedError(
  message: string,
  init: GithostedErrorInit,
  details: ConnectErrorDetail[],
): GithostedError {
  if (init.connectCode === 'failed_precondition') {
    const d = decodeDetail(details, STALE_HEAD)
    if (d) {
      return new StaleHeadError(message, init, {
        repoId: d.repoId,
        ref: d.ref,
        expectedHead: d.expectedHead,
        actualHead: d.actualHead,
      })
    }
  }
  if (init.connectCode === 'aborted') {
    const d = decodeDetail(details, REPO_BUSY)
    if (d) return new RepoBusyError(message, init, { repoId: d.repoId, operation: d.operation })
  }
  return githostedError(message, init)
}
