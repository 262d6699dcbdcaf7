/**
 * The default Transport: node:http / node:https over keep-alive agents, through
 * the function's one node:http client stack (lib/http/node-get.ts: pools,
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
import { closePools, createPools, exchange, type ExchangeErrors, type Pools } from '../http/node-get.js'
import {
  ResponseTooLargeError,
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
}

/** A Transport plus what tests and shutdown need. */
export interface NodeTransport extends Transport {
  /** Closes every pooled connection. */
  close(): void
}

/** The Transport contract's errors (transport.ts). */
const TRANSPORT_ERRORS: ExchangeErrors = {
  timeout: timeoutError,
  abort: abortError,
  tooLarge: (status, limit) => new ResponseTooLargeError(status, limit),
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
  })
  const send = ((req: TransportRequest) => post(req, pools)) as NodeTransport
  send.close = () => closePools(pools)
  return send
}

let shared: NodeTransport | undefined

/** The process-wide transport: one pool per origin shared by every client (rotation keeps the sockets). */
export function sharedNodeTransport(): NodeTransport {
  return (shared ??= createNodeTransport())
}
