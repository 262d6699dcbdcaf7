/**
 * A fake Connect server as an injected `fetch`: routes by procedure to
 * handlers that get the decoded JSON body, and records every request. Plus
 * helpers to build Connect error bodies the way connect-go does.
 */
import { create, toBinary } from '@bufbuild/protobuf'
import { base64Encode } from '@bufbuild/protobuf/wire'
import {
  RepoBusyDetailSchema,
  StaleHeadDetailSchema,
} from '../../../../functions/lib/githosted/gen/githosted/v1/errors_pb.js'

export interface RecordedRequest {
  url: string
  procedure: string
  method: string
  headers: Record<string, string>
  body: Record<string, unknown>
}

export type Handler = (
  body: Record<string, unknown>,
  req: RecordedRequest,
  signal: AbortSignal | undefined,
) => Response | Promise<Response>

export interface FakeConnect {
  fetch: typeof fetch
  requests: RecordedRequest[]
  /** Requests to one method, e.g. 'ReadFile'. */
  calls(method: string): RecordedRequest[]
}

export function fakeConnect(handlers: Record<string, Handler>): FakeConnect {
  const requests: RecordedRequest[] = []
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input)
    const procedure = new URL(url).pathname
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v))
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>
    const req = { url, procedure, method: init?.method ?? 'GET', headers, body }
    requests.push(req)
    const name = procedure.split('/').pop() ?? ''
    const handler = handlers[name]
    if (!handler) return connectError(404, 'unimplemented', `no handler for ${procedure}`)
    return handler(body, req, init?.signal ?? undefined)
  }
  return {
    fetch: impl as typeof fetch,
    requests,
    calls: (m) => requests.filter((r) => r.procedure.endsWith(`/${m}`)),
  }
}

export function ok(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  })
}

export function connectError(
  status: number,
  code: string,
  message: string,
  details?: unknown[],
): Response {
  return new Response(JSON.stringify({ code, message, ...(details ? { details } : {}) }), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

export type Base64Style = 'std' | 'std_raw' | 'url'

export function staleHeadDetail(
  d: { repoId: string; ref: string; expectedHead: string; actualHead: string },
  opts: { style?: Base64Style; value?: string | null; debug?: unknown } = {},
) {
  const value =
    opts.value === undefined
      ? base64Encode(toBinary(StaleHeadDetailSchema, create(StaleHeadDetailSchema, d)), opts.style ?? 'std_raw')
      : opts.value
  return {
    type: 'githosted.v1.StaleHeadDetail',
    ...(value === null ? {} : { value }),
    ...(opts.debug === undefined ? {} : { debug: opts.debug }),
  }
}

export function repoBusyDetail(d: { repoId: string; operation: string }) {
  const bin = toBinary(RepoBusyDetailSchema, create(RepoBusyDetailSchema, d))
  return { type: 'githosted.v1.RepoBusyDetail', value: base64Encode(bin, 'std_raw'), debug: d }
}

export function repoBusyResponse(): Response {
  return connectError(409, 'aborted', 'repository rp_x is busy', [
    repoBusyDetail({ repoId: 'rp_x', operation: 'write_file' }),
  ])
}

/** A fetch rejection shaped like undici's: TypeError('fetch failed') with a coded cause. */
export function networkFailure(code: string): TypeError {
  const cause = Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })
  return new TypeError('fetch failed', { cause })
}

/** Resolves when aborted, rejecting with the signal's reason (as fetch does). */
export function hangUntilAborted(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_resolve, reject) => {
    if (!signal) return
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** Fake sleep/random/now for retry tests: sleeping advances a virtual clock. */
export function virtualTime(random = 0.5) {
  let now = 0
  const sleeps: number[] = []
  return {
    sleeps,
    deps: {
      sleep: async (ms: number) => {
        sleeps.push(ms)
        now += ms
      },
      random: () => random,
      now: () => now,
    },
    advance: (ms: number) => (now += ms),
  }
}
