/**
 * Records every outbound HTTP call a process makes (node:http, which the AWS
 * SDK uses, and fetch/undici, which our githosted client and jose use) via
 * Node's diagnostics channels. Nothing is wrapped or patched, so the code
 * under test runs exactly as it would on Lambda; we only learn when each call
 * started and when its response body was complete. "Upstream time" is the
 * union of those intervals, and broker overhead is handler time minus it.
 */
import dc from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { unionLength } from './stats.js'

export interface UpstreamCall {
  /** `http://127.0.0.1:1234` */
  origin: string
  path: string
  method: string
  start: number
  /** NaN until the response body has been read (or the call failed). */
  end: number
}

export interface UpstreamRecorder {
  readonly calls: UpstreamCall[]
  /** Drops recorded calls (keeps listening). */
  reset(): void
  /** Union of call intervals inside [from, to], in ms. */
  timeWithin(from: number, to: number): number
  stop(): void
}

interface UndiciRequest {
  origin?: string | URL
  path?: string
  method?: string
}

interface HttpClientRequest {
  host?: string
  protocol?: string
  path?: string
  method?: string
  getHeader?(name: string): unknown
}

interface IncomingLike {
  complete?: boolean
  once(event: string, fn: () => void): unknown
}

export function createUpstreamRecorder(): UpstreamRecorder {
  const calls: UpstreamCall[] = []
  const open = new WeakMap<object, UpstreamCall>()
  const finish = (key: object) => {
    const call = open.get(key)
    if (call && Number.isNaN(call.end)) call.end = performance.now()
    open.delete(key)
  }

  const onUndiciCreate = (msg: unknown) => {
    const req = (msg as { request: UndiciRequest }).request
    const call: UpstreamCall = {
      origin: String(req.origin ?? ''),
      path: req.path ?? '',
      method: req.method ?? 'GET',
      start: performance.now(),
      end: Number.NaN,
    }
    calls.push(call)
    open.set(req, call)
  }
  const onUndiciDone = (msg: unknown) => finish((msg as { request: object }).request)

  const onHttpStart = (msg: unknown) => {
    const req = (msg as { request: HttpClientRequest }).request
    const call: UpstreamCall = {
      // The Host header carries the port; `req.host` does not.
      origin: `${req.protocol ?? 'http:'}//${String(req.getHeader?.('host') ?? req.host ?? '')}`,
      path: req.path ?? '',
      method: req.method ?? 'GET',
      start: performance.now(),
      end: Number.NaN,
    }
    calls.push(call)
    open.set(req, call)
  }
  const onHttpResponse = (msg: unknown) => {
    const { request, response } = msg as { request: object; response: IncomingLike }
    // The channel fires when the response head is parsed; the call is over when the body is.
    if (response.complete) finish(request)
    else {
      response.once('end', () => finish(request))
      response.once('close', () => finish(request))
    }
  }
  const onHttpError = (msg: unknown) => finish((msg as { request: object }).request)

  const subs: Array<[string, (msg: unknown) => void]> = [
    ['undici:request:create', onUndiciCreate],
    ['undici:request:trailers', onUndiciDone],
    ['undici:request:error', onUndiciDone],
    ['http.client.request.start', onHttpStart],
    ['http.client.response.finish', onHttpResponse],
    ['http.client.request.error', onHttpError],
  ]
  for (const [name, fn] of subs) dc.subscribe(name, fn)

  return {
    calls,
    reset: () => {
      calls.length = 0
    },
    timeWithin(from, to) {
      const intervals: Array<[number, number]> = []
      for (const c of calls) {
        const end = Number.isNaN(c.end) ? to : c.end
        const s = Math.max(c.start, from)
        const e = Math.min(end, to)
        if (e > s) intervals.push([s, e])
      }
      return unionLength(intervals)
    },
    stop() {
      for (const [name, fn] of subs) dc.unsubscribe(name, fn)
    },
  }
}
