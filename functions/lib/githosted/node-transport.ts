/**
 * The default Transport: node:http / node:https over keep-alive agents, through
 * the function's one node:http client stack (lib/net/http-client.ts: pools,
 * deadline, size caps, stale-socket retry). WHATWG `fetch` spends much of a
 * call's CPU in its own machinery (Headers, Request/Response objects, web
 * streams); this path does the same exchange with plain sockets and Buffers.
 * On warm /v1/tokens (one githosted call per mint) it cut process CPU per
 * request by about a quarter (`npm run bench -- --only warm-overhead`, "CPU
 * per request").
 *
 * We never ask for compression; a proxy that compresses anyway is decoded
 * (node:zlib loaded then), within the same size cap.
 */
import { ResponseTooLargeError } from '../net/capped-body.js'
import { closePools, createPools, exchange, type ExchangeErrors, type Pools } from '../net/http-client.js'
import { warmPool } from '../net/warm.js'
import { createH2Sessions, h2Post, speaksH2, type H2Sessions } from './h2-transport.js'
import {
  abortError,
  timeoutError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from './transport.js'

export interface NodeTransportOptions {
  /** Concurrent connections per origin; further calls wait for one (inside their deadline). */
  maxSockets?: number
  /** Idle connections kept per origin. */
  maxFreeSockets?: number
  /** Close an idle connection after this long (sooner if the server announces less). */
  idleTimeoutMs?: number
  /** Extra trusted CA certificates for https (a private githosted, tests). */
  ca?: string | Buffer
}

/** A Transport plus what tests and shutdown need. */
export interface NodeTransport extends Transport {
  /** Closes every pooled connection. */
  close(): void
  /** The HTTP version learned for an origin ('1.1' once one answered, '2' once it needed it). */
  protocolOf(origin: string): HttpVersion | undefined
  /**
   * Opens a keep-alive connection to `baseUrl`'s origin ahead of the first call (an HTTP/1.1
   * GET of `/` without credentials, answer dropped; it teaches the transport nothing about the
   * origin's protocol); calls to that origin made meanwhile wait for it instead of opening a
   * second one. Never rejects; once per origin.
   */
  warm(baseUrl: string, timeoutMs: number): Promise<void>
}

export type HttpVersion = '1.1' | '2'

/**
 * Failures that say nothing about HTTP/1.1 being refused: the connection was
 * never made (nothing listens, no DNS) or our own limits ended the call.
 */
const NOT_A_PROTOCOL_HINT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'])

function hintsH2Only(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null
  if (!e || e.name === 'TimeoutError' || e.name === 'AbortError' || err instanceof ResponseTooLargeError) return false
  return typeof e.code !== 'string' || !NOT_A_PROTOCOL_HINT.has(e.code)
}

/** How long to wait for an HTTP/2 server's SETTINGS when probing. */
const H2_PROBE_MS = 2_000

/** The Transport contract's errors (transport.ts). */
const TRANSPORT_ERRORS: ExchangeErrors = {
  timeout: timeoutError,
  abort: abortError,
}

async function post(req: TransportRequest, pools: Pools): Promise<TransportResponse> {
  const res = await exchange(
    {
      url: req.url,
      method: 'POST',
      headers: req.headers,
      body: Buffer.from(req.body),
      timeoutMs: req.timeoutMs,
      maxBodyBytes: req.maxBodyBytes,
      ...(req.signal ? { signal: req.signal } : {}),
      decompress: true,
      errors: TRANSPORT_ERRORS,
      retryStaleSocket: req.idempotent !== false,
    },
    pools,
  )
  return { status: res.status, text: res.body.toString('utf8') }
}

/** Builds a transport with its own connection pools (one per protocol). */
export function createNodeTransport(options: NodeTransportOptions = {}): NodeTransport {
  const pools = createPools({
    maxSockets: options.maxSockets ?? 32,
    maxFreeSockets: options.maxFreeSockets ?? 8,
    idleTimeoutMs: options.idleTimeoutMs ?? 4_000,
    ...(options.ca ? { ca: options.ca } : {}),
  })
  const h2s: H2Sessions = createH2Sessions(options.idleTimeoutMs ?? 4_000, options.ca)
  const protocols = new Map<string, HttpVersion>()
  const warming = new Map<string, Promise<void>>()
  const warmed = new Set<string>()

  /**
   * HTTP/1.1 keep-alive first (the cheaper default). An origin that has never
   * answered over HTTP/1.1 and fails in a way an h2-only server causes (reset,
   * garbage, TLS ALPN refusal) is probed for HTTP/2; if its SETTINGS arrive,
   * the origin is remembered as HTTP/2 and the call goes there. Writes too:
   * only an origin that has never answered HTTP/1.1 is probed, and one that
   * then completes an HTTP/2 handshake is a server that did not parse the
   * HTTP/1.1 request (an h2-only server resets it unread).
   */
  const send = (async (req: TransportRequest) => {
    const origin = new URL(req.url).origin
    const opening = warming.get(origin)
    if (opening) await opening
    const known = protocols.get(origin)
    if (known === '2') return h2Post(h2s, req)
    try {
      const res = await post(req, pools)
      protocols.set(origin, '1.1')
      return res
    } catch (err) {
      if (known === '1.1' || !hintsH2Only(err)) throw err
      if (!(await speaksH2(h2s, origin, Math.min(H2_PROBE_MS, req.timeoutMs)))) throw err
      protocols.set(origin, '2')
      return h2Post(h2s, req)
    }
  }) as NodeTransport
  send.close = () => {
    closePools(pools)
    h2s.close()
  }
  send.protocolOf = (origin) => protocols.get(origin)
  send.warm = (baseUrl, timeoutMs) => {
    if (!URL.canParse(baseUrl)) return Promise.resolve()
    const url = new URL(baseUrl)
    if (warmed.has(url.origin)) return warming.get(url.origin) ?? Promise.resolve()
    warmed.add(url.origin)
    const done = warmPool(pools, url, timeoutMs).finally(() => warming.delete(url.origin))
    warming.set(url.origin, done)
    return done
  }
  return send
}

let shared: NodeTransport | undefined

/** The process-wide transport: one pool per origin shared by every client (rotation keeps the sockets). */
export function sharedNodeTransport(): NodeTransport {
  return (shared ??= createNodeTransport())
}
