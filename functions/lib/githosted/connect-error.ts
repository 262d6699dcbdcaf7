/**
 * Turns a failed Connect unary response into one of our typed errors. The code
 * comes from the JSON error body; when the body is not a Connect error (a proxy
 * page, an empty 502) it comes from the HTTP status, per the Connect protocol's
 * HTTP-to-code table.
 */
import { fromBinary, fromJson, type JsonValue } from '@bufbuild/protobuf'
import { base64Decode } from '@bufbuild/protobuf/wire'
import { redact } from '../audit/logger.js'
import {
  RepoBusyDetailSchema,
  StaleHeadDetailSchema,
  type RepoBusyDetail,
  type StaleHeadDetail,
} from './gen/githosted/v1/errors_pb.js'
import {
  CONNECT_CODES,
  GithostedError,
  GithostedTimeoutError,
  GithostedUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  RepoBusyError,
  StaleHeadError,
  UnauthenticatedError,
  type ConnectCode,
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

/**
 * Decodes a detail message: the binary `value` first (it is authoritative;
 * base64 std or url, padded or not), the JSON `debug` only if that fails.
 */
function decodeDetail<T extends StaleHeadDetail | RepoBusyDetail>(
  details: ConnectErrorDetail[],
  schema: typeof StaleHeadDetailSchema | typeof RepoBusyDetailSchema,
): T | undefined {
  const d = details.find((x) => detailType(x) === schema.typeName)
  if (!d) return undefined
  if (typeof d.value === 'string') {
    try {
      return fromBinary(schema, base64Decode(d.value)) as T
    } catch {
      // fall through to debug
    }
  }
  if (typeof d.debug === 'object' && d.debug !== null) {
    try {
      return fromJson(schema, d.debug as JsonValue, { ignoreUnknownFields: true }) as T
    } catch {
      return undefined
    }
  }
  return undefined
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
  switch (init.connectCode) {
    case 'not_found':
      return new NotFoundError(message, init)
    case 'unauthenticated':
      return new UnauthenticatedError(message, init)
    case 'permission_denied':
      return new PermissionDeniedError(message, init)
    case 'unavailable':
      return new GithostedUnavailableError(message, init)
    case 'deadline_exceeded':
      return new GithostedTimeoutError(message, init)
    case 'failed_precondition': {
      const d = decodeDetail<StaleHeadDetail>(details, StaleHeadDetailSchema)
      if (!d) break
      return new StaleHeadError(message, init, {
        repoId: d.repoId,
        ref: d.ref,
        expectedHead: d.expectedHead,
        actualHead: d.actualHead,
      })
    }
    case 'aborted': {
      const d = decodeDetail<RepoBusyDetail>(details, RepoBusyDetailSchema)
      if (!d) break
      return new RepoBusyError(message, init, { repoId: d.repoId, operation: d.operation })
    }
  }
  return new GithostedError(message, init)
}
