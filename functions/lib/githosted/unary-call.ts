/**
 * One Connect unary call with a JSON body over a Transport (transport.ts), hand-rolled instead of
 * @connectrpc/connect's client + transport: we only need unary JSON, and this
 * keeps protobuf-es's reflection runtime (~100 KB minified) out of the Lambda
 * bundles. Requests are plain proto3 JSON objects typed by the generated
 * `XxxJson` types; responses are read with JsonReader (json-reader.ts).
 *
 * JSON uses field NAMES (proto3 canonical JSON), so our extension fields
 * (`expectedHead`, `headSha`, `sha`, `message`) mean the same to any server
 * that knows them and are ignored by one that does not. Unknown response
 * fields are ignored so a newer server never breaks us.
 */
import { errorFromResponse, scrub } from './connect-error.js'
import { GithostedCanceledError, GithostedInternalError, GithostedTimeoutError, ResourceExhaustedError, type GithostedError } from './errors.js'
import { JsonReader } from './json-reader.js'
import { GithostedNetworkError, findNetworkCode } from './network-error.js'
import type { Procedure, RequestJson, ResponseJson } from './procedures.js'
import { ResponseTooLargeError } from '../net/capped-body.js'
import type { Transport } from './transport.js'

export interface CallConfig {
  baseUrl: string
  token: string | undefined
  timeoutMs: number
  clientName: string
  transport: Transport
  /** Larger response bodies fail the call (resource_exhausted). */
  maxResponseBytes: number
  /** Makes the X-Request-Id; injectable for tests. */
  requestId: () => string
}

/** Turns a response message into what the caller returns; throws on a bad shape. */
export type Decode<P extends Procedure, R> = (res: JsonReader<ResponseJson<P>>) => R

/**
 * proto3 canonical JSON omits fields that hold their default value. Our
 * requests are flat (scalars and repeated strings), so one level is enough.
 */
export function omitDefaults(input: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined || v === '' || v === 0 || v === false) continue
    if (Array.isArray(v) && v.length === 0) continue
    out[k] = v
  }
  return out
}

/** Makes one HTTP request; throws a typed `GithostedError` on any failure. */
export async function unaryCall<P extends Procedure, R>(
  cfg: CallConfig,
  procedure: P,
  input: RequestJson<P>,
  decode: Decode<P, R>,
  /** False for writes: the transport must never resend them on its own. */
  idempotent = true,
): Promise<R> {
  const requestId = cfg.requestId()
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Connect-Protocol-Version': '1',
    'X-Request-Id': requestId,
    'X-Githosted-Client': cfg.clientName,
  }
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`
  const body = JSON.stringify(omitDefaults(input))
  const base = { procedure, requestId }

  let status: number
  let text: string
  try {
    const res = await cfg.transport({
      url: cfg.baseUrl + procedure,
      headers,
      body,
      timeoutMs: cfg.timeoutMs,
      maxBodyBytes: cfg.maxResponseBytes,
      idempotent,
    })
    status = res.status
    text = res.text
  } catch (err) {
    throw transportError(err, cfg, base)
  }

  if (status !== 200) throw errorFromResponse(status, text, { ...base, token: cfg.token })

  let json: unknown
  try {
    json = text.trim() === '' ? {} : JSON.parse(text)
  } catch (err) {
    throw new GithostedInternalError(`githosted ${procedure} failed: internal: response is not JSON`, {
      ...base,
      connectCode: 'internal',
      httpStatus: status,
      cause: err,
    })
  }
  try {
    return decode(new JsonReader<ResponseJson<P>>(json))
  } catch (err) {
    const why = err instanceof Error ? scrub(err.message, cfg.token) : 'invalid message'
    throw new GithostedInternalError(`githosted ${procedure} failed: internal: bad response: ${why}`, {
      ...base,
      connectCode: 'internal',
      httpStatus: status,
    })
  }
}

function transportError(
  err: unknown,
  cfg: CallConfig,
  base: { procedure: string; requestId: string },
): GithostedError {
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'TimeoutError') {
    return new GithostedTimeoutError(
      `githosted ${base.procedure} failed: no response within ${cfg.timeoutMs} ms ` +
        '(for a write, the outcome is unknown)',
      { ...base, connectCode: 'deadline_exceeded' },
    )
  }
  if (err instanceof ResponseTooLargeError) {
    // What a Connect client reports for a message over its read limit.
    return new ResourceExhaustedError(
      `githosted ${base.procedure} failed: resource_exhausted: ${err.message}`,
      { ...base, connectCode: 'resource_exhausted', httpStatus: err.status },
    )
  }
  if (name === 'AbortError') {
    return new GithostedCanceledError(`githosted ${base.procedure} failed: canceled`, {
      ...base,
      connectCode: 'canceled',
    })
  }
  const networkCode = findNetworkCode(err) ?? 'UNKNOWN'
  const why = err instanceof Error ? scrub(err.message, cfg.token) : 'fetch failed'
  // The cause is dropped on purpose: undici errors can carry the request, headers included.
  return new GithostedNetworkError(
    `githosted ${base.procedure} failed: unavailable: network error ${networkCode}: ${why}`,
    { ...base, connectCode: 'unavailable' },
    networkCode,
  )
}
