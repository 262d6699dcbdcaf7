/**
 * One Connect unary call with a JSON body over `fetch`, hand-rolled instead of
 * @connectrpc/connect's client + transport: we only need unary JSON, and this
 * keeps the Lambda bundles to protobuf-es plus a page of code.
 *
 * JSON uses field NAMES (proto3 canonical JSON), so our extension fields
 * (`expectedHead`, `headSha`, `sha`, `message`) mean the same to any server
 * that knows them and are ignored by one that does not. Responses are parsed
 * with `ignoreUnknownFields` so a newer server never breaks us.
 */
import {
  fromJson,
  toJson,
  create,
  type DescMessage,
  type DescMethod,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf'
import { errorFromResponse, scrub } from './connect-error.js'
import { GithostedError, GithostedTimeoutError } from './errors.js'
import { GithostedNetworkError, findNetworkCode } from './network-error.js'

export interface CallConfig {
  baseUrl: string
  token: string | undefined
  timeoutMs: number
  clientName: string
  fetch: typeof fetch
  /** Makes the X-Request-Id; injectable for tests. */
  requestId: () => string
}

/** A generated unary method descriptor with its typed input and output schemas. */
export type UnaryMethod<I extends DescMessage, O extends DescMessage> = DescMethod & {
  input: I
  output: O
}

/** `/githosted.v1.RepoService/ReadFile` */
export function procedureOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`
}

/** Makes one HTTP request; throws a typed `GithostedError` on any failure. */
export async function unaryCall<I extends DescMessage, O extends DescMessage>(
  cfg: CallConfig,
  method: UnaryMethod<I, O>,
  input: MessageInitShape<I>,
): Promise<MessageShape<O>> {
  const procedure = procedureOf(method)
  const requestId = cfg.requestId()
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Connect-Protocol-Version': '1',
    'X-Request-Id': requestId,
    'X-Githosted-Client': cfg.clientName,
  }
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`
  const body = JSON.stringify(toJson(method.input, create(method.input, input)))
  const signal = AbortSignal.timeout(cfg.timeoutMs)
  const base = { procedure, requestId }

  let status: number
  let text: string
  try {
    const res = await cfg.fetch(cfg.baseUrl + procedure, { method: 'POST', headers, body, signal })
    status = res.status
    text = await res.text()
  } catch (err) {
    throw transportError(err, signal, cfg, base)
  }

  if (status !== 200) throw errorFromResponse(status, text, { ...base, token: cfg.token })

  let json: unknown
  try {
    json = text.trim() === '' ? {} : JSON.parse(text)
  } catch (err) {
    throw new GithostedError(`githosted ${procedure} failed: internal: response is not JSON`, {
      ...base,
      connectCode: 'internal',
      httpStatus: status,
      cause: err,
    })
  }
  try {
    return fromJson(method.output, json as JsonValue, { ignoreUnknownFields: true })
  } catch (err) {
    const why = err instanceof Error ? scrub(err.message, cfg.token) : 'invalid message'
    throw new GithostedError(`githosted ${procedure} failed: internal: bad response: ${why}`, {
      ...base,
      connectCode: 'internal',
      httpStatus: status,
    })
  }
}

function transportError(
  err: unknown,
  signal: AbortSignal,
  cfg: CallConfig,
  base: { procedure: string; requestId: string },
): GithostedError {
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'TimeoutError' || (signal.aborted && name === 'AbortError')) {
    return new GithostedTimeoutError(
      `githosted ${base.procedure} failed: no response within ${cfg.timeoutMs} ms ` +
        '(for a write, the outcome is unknown)',
      { ...base, connectCode: 'deadline_exceeded' },
    )
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
