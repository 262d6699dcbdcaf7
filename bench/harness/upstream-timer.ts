/**
 * Records every outbound HTTP call a process makes (node:http, which the
 * functions' own calls and the AWS SDK use, and fetch/undici, which peers or
 * an injected fetch may use) via
 * Node's diagnostics channels. Nothing is wrapped or patched, so the code
 * under test runs exactly as it would on Lambda; we only learn when each call
 * started, when its response body was complete, and what the server said it
 * spent and when (Server-Timing, added by the bench's servers:
 * server-timing.ts). "Upstream time" is the union of those intervals (see
 * UpstreamBasis), and broker overhead is handler time minus it.
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
  /** The server's own handling time from its `Server-Timing: upstream;dur=` header, when it sent one. */
  serverMs?: number
  /** When the server parsed the request and wrote its answer's head, on this process's performance.now() clock. */
  serverSpan?: [number, number]
  /** Which client channel saw the call: node:http publishes its start after writing, undici before. */
  via: 'http' | 'undici'
}

/**
 * How a call's upstream time is counted:
 * - `client`: the interval the client observed, from Node's client channels.
 *   Where that interval starts depends on the HTTP client: undici publishes
 *   `request:create` before it writes the request, node:http publishes
 *   `http.client.request.start` after, so the same exchange counts more or
 *   less of the client's own work as upstream depending on the transport.
 * - `server`: the servers' own timing. Each bench server says when it parsed
 *   the request and when it wrote the answer's head, on the machine-wide
 *   monotonic clock (server-timing.ts), so that span sits on this process's
 *   timeline exactly. Upstream per call is then:
 *   - from the moment the request was on the wire: for node:http its start
 *     event, which it publishes right after writing the request (the server
 *     may even begin before it: on a loaded machine the writer is often
 *     preempted by the server it woke); for undici, which publishes before it
 *     builds and writes the request (the caller's work), no earlier than the
 *     server's start less half the loopback round trip;
 *   - to the server's end plus half the loopback round trip (`rttMs`,
 *     measured back to back with a raw socket) for the answer's way back.
 *   The server's wake-up, parsing and handling and the request's transit are
 *   measured, not estimated; after the answer is on its way, the caller's
 *   own wake-up and parsing count as the caller's. Every CPU cycle the caller
 *   spends building, writing or reading a call is outside these intervals
 *   unless it runs while some upstream works for it (the union is what
 *   overlaps). A server that reports only a duration gets it placed at the
 *   end of the call with the whole round trip; one that reports nothing
 *   falls back to `client`.
 *
 *   Why not the server's duration plus the round trip, placed at the end of
 *   the call (the rule before): the round trip was measured back to back,
 *   with both processes awake, while each call of a request wakes a server
 *   that was idle (on this 2-core VM a wake-up from idle took 0.4–0.6 ms
 *   against 0.1–0.2 ms back to back); and cutting that interval at the
 *   client's start event (the rule before that) counted the server's time
 *   before node:http's late start event as the caller's.
 */
export type UpstreamBasis = { kind: 'client' } | { kind: 'server'; rttMs: number }

export interface UpstreamRecorder {
  readonly calls: UpstreamCall[]
  /** Drops recorded calls (keeps listening). */
  reset(): void
  /** Union of call intervals inside [from, to], in ms (O(log n + calls in the window)). */
  timeWithin(from: number, to: number, basis?: UpstreamBasis): number
  stop(): void
}

/** `upstream-span;desc="<ns>-<ns>"` → the two hrtime instants, or undefined. */
export function parseServerSpan(value: unknown): [bigint, bigint] | undefined {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : ''
  const m = /(?:^|,)\s*upstream-span\s*;\s*desc="?(\d+)-(\d+)"?/.exec(text)
  return m ? [BigInt(m[1]!), BigInt(m[2]!)] : undefined
}

/** `upstream;dur=12.3` → 12.3 (the metric the bench servers emit; see server-timing.ts). */
export function parseServerTiming(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : ''
  const m = /(?:^|,)\s*upstream\s*;(?:[^,]*;)?\s*dur=([0-9.]+)/.exec(text)
  return m ? Number(m[1]) : undefined
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
  headers?: Record<string, string | string[] | undefined>
  once(event: string, fn: () => void): unknown
}

export function createUpstreamRecorder(): UpstreamRecorder {
  // Pushed as calls start, so `calls` is sorted by start (performance.now() is monotonic).
  const calls: UpstreamCall[] = []
  const open = new WeakMap<object, UpstreamCall>()
  // Calls not yet finished, and the longest finished call: together they bound how far before
  // `from` a call overlapping [from, to] can have started, so timeWithin looks at a short window.
  const unfinished = new Set<UpstreamCall>()
  let longest = 0
  // hrtime and performance.now() read the same monotonic clock: one offset converts the servers' instants.
  const hrOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now()
  const noteServerTiming = (call: UpstreamCall, header: unknown) => {
    call.serverMs = parseServerTiming(header)
    const span = parseServerSpan(header)
    if (span) call.serverSpan = [Number(span[0]) / 1e6 - hrOffsetMs, Number(span[1]) / 1e6 - hrOffsetMs]
  }
  const finish = (key: object) => {
    const call = open.get(key)
    if (call && Number.isNaN(call.end)) {
      call.end = performance.now()
      longest = Math.max(longest, call.end - call.start)
      unfinished.delete(call)
    }
    open.delete(key)
  }
  const record = (key: object, call: UpstreamCall) => {
    calls.push(call)
    open.set(key, call)
    unfinished.add(call)
  }
  /** First index whose start is >= t. */
  const firstStartingAt = (t: number) => {
    let lo = 0
    let hi = calls.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (calls[mid]!.start < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  const onUndiciCreate = (msg: unknown) => {
    const req = (msg as { request: UndiciRequest }).request
    const call: UpstreamCall = {
      origin: String(req.origin ?? ''),
      path: req.path ?? '',
      method: req.method ?? 'GET',
      start: performance.now(),
      end: Number.NaN,
      via: 'undici',
    }
    record(req, call)
  }
  const onUndiciHeaders = (msg: unknown) => {
    const { request, response } = msg as { request: object; response: { headers?: Array<Buffer | string> } }
    const call = open.get(request)
    const h = response.headers ?? []
    for (let i = 0; call && i + 1 < h.length; i += 2) {
      if (String(h[i]).toLowerCase() === 'server-timing') noteServerTiming(call, String(h[i + 1]))
    }
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
      via: 'http',
    }
    record(req, call)
  }
  const onHttpResponse = (msg: unknown) => {
    const { request, response } = msg as { request: object; response: IncomingLike }
    const call = open.get(request)
    if (call) noteServerTiming(call, response.headers?.['server-timing'])
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
    ['undici:request:headers', onUndiciHeaders],
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
      unfinished.clear()
      longest = 0
    },
    timeWithin(from, to, basis = { kind: 'client' }) {
      const intervals: Array<[number, number]> = []
      const add = (c: UpstreamCall) => {
        let end = Number.isNaN(c.end) ? to : c.end
        let start = c.start
        if (basis.kind === 'server' && c.serverSpan && !Number.isNaN(c.end)) {
          const [serverStart, serverEnd] = c.serverSpan
          start = c.via === 'http' ? Math.min(c.start, serverStart) : Math.max(c.start, serverStart - basis.rttMs / 2)
          end = Math.min(c.end, serverEnd + basis.rttMs / 2)
        } else if (basis.kind === 'server' && c.serverMs !== undefined && !Number.isNaN(c.end)) {
          start = end - c.serverMs - basis.rttMs
        }
        const s = Math.max(start, from)
        const e = Math.min(end, to)
        if (e > s) intervals.push([s, e])
      }
      // Finished calls overlapping [from, to] started at or after from − longest, and before to.
      const hi = firstStartingAt(to)
      for (let i = firstStartingAt(from - longest); i < hi; i++) {
        if (!unfinished.has(calls[i]!)) add(calls[i]!)
      }
      for (const c of unfinished) if (c.start < to) add(c)
      return unionLength(intervals)
    },
    stop() {
      for (const [name, fn] of subs) dc.unsubscribe(name, fn)
    },
  }
}
