/**
 * The default Transport: node:http / node:https `request` over a keep-alive
 * Agent. WHATWG `fetch` spends much of a call's CPU in its own machinery
 * (Headers, Request/Response objects, web streams); this path does the same
 * exchange with plain sockets and Buffers. On warm /v1/tokens (one githosted
 * call per mint) it cut process CPU per request by about a quarter
 * (`npm run bench -- --only warm-overhead`, "CPU per request").
 *
 * Sockets stay open between calls (and between Lambda invocations) and are
 * reused most-recently-used first; an idle socket is closed before the
 * server's announced keep-alive timeout (Node's Agent honours the
 * `Keep-Alive: timeout=N` hint) or after `idleTimeoutMs`, whichever is
 * sooner, so a reused socket is rarely one the server is closing.
 *
 * `node:https` (with TLS) and `node:zlib` are loaded on first need, not at
 * module load: a function that only calls an http:// githosted, or never gets
 * a compressed response, does not pay for them at INIT. They are built-ins,
 * so loading them later cannot fail for a packaging reason.
 */
import http from 'node:http'
import type https from 'node:https'
import type zlib from 'node:zlib'
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

type Decoder = (b: Buffer, o: { maxOutputLength: number }) => Buffer

const DECODER_NAMES: Record<string, 'gunzipSync' | 'inflateSync' | 'brotliDecompressSync'> = {
  gzip: 'gunzipSync',
  'x-gzip': 'gunzipSync',
  deflate: 'inflateSync',
  br: 'brotliDecompressSync',
}

/** The decoder for a content-coding, loading node:zlib the first time one is needed. */
function decoderFor(coding: string): Decoder | undefined {
  const name = DECODER_NAMES[coding]
  if (!name) return undefined
  const z = process.getBuiltinModule('node:zlib') as typeof zlib
  return z[name] as Decoder
}

/** Pools per protocol; the https one (and node:https itself) only once an https URL is called. */
interface Agents {
  'http:': http.Agent
  'https:'?: https.Agent
  options: http.AgentOptions
}

function agentFor(agents: Agents, protocol: 'http:' | 'https:'): http.Agent {
  if (protocol === 'http:') return agents['http:']
  const h = process.getBuiltinModule('node:https') as typeof https
  return (agents['https:'] ??= new h.Agent(agents.options))
}

/** Builds a transport with its own connection pools (one per protocol). */
export function createNodeTransport(options: NodeTransportOptions = {}): NodeTransport {
  const agentOptions = {
    keepAlive: true,
    // Bounded so a burst cannot open an unbounded number of sockets to one origin.
    maxSockets: options.maxSockets ?? 32,
    maxFreeSockets: options.maxFreeSockets ?? 8,
    // Applies to idle sockets only as far as we are concerned: our own deadline governs busy ones.
    timeout: options.idleTimeoutMs ?? 4_000,
    scheduling: 'lifo' as const,
  }
  const agents: Agents = { 'http:': new http.Agent(agentOptions), options: agentOptions }
  const send = ((req: TransportRequest) => exchangeRetryingStaleSocket(req, agents)) as NodeTransport
  send.close = () => {
    agents['http:'].destroy()
    agents['https:']?.destroy()
  }
  return send
}

/**
 * A pooled socket can die while idle: the server closed it, or a Lambda
 * sandbox was frozen past the server's keep-alive timeout. A request written
 * to such a socket fails with ECONNRESET/EPIPE before any response, and the
 * server never processed it; Node's documentation recommends exactly one
 * retry on a fresh connection in that case (`request.reusedSocket`).
 */
async function exchangeRetryingStaleSocket(
  req: TransportRequest,
  agents: Agents,
): Promise<TransportResponse> {
  try {
    return await exchange(req, agents)
  } catch (err) {
    if (!(err as { staleSocket?: boolean }).staleSocket) throw err
    return exchange(req, agents)
  }
}

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

function exchange(req: TransportRequest, agents: Agents): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = req
    if (signal?.aborted) return reject(abortError(signal.reason))
    const url = new URL(req.url)
    const protocol = url.protocol
    if (protocol !== 'http:' && protocol !== 'https:') {
      return reject(new TypeError(`unsupported protocol ${protocol}`))
    }
    const body = Buffer.from(req.body)
    const agent = agentFor(agents, protocol)
    const client = protocol === 'https:' ? (process.getBuiltinModule('node:https') as typeof https) : http
    const request = client.request({
      protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      method: 'POST',
      headers: { ...req.headers, 'Content-Length': String(body.length) },
      agent,
    })

    let done = false
    const finish = (err: Error | undefined, value?: TransportResponse) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (err) {
        // Destroying with the error closes the socket: it must not go back to the pool half-read.
        request.destroy()
        reject(err)
      } else resolve(value!)
    }
    const onAbort = () => finish(abortError(signal?.reason))
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => finish(timeoutError(req.timeoutMs)), req.timeoutMs)

    let responded = false
    request.on('error', (err) => {
      const code = (err as { code?: string }).code
      if (!responded && request.reusedSocket && code && STALE_SOCKET_CODES.has(code)) {
        Object.assign(err, { staleSocket: true })
      }
      finish(err)
    })
    request.on('response', (res) => {
      responded = true
      const status = res.statusCode ?? 0
      const declared = Number(res.headers['content-length'] ?? Number.NaN)
      if (declared > req.maxBodyBytes) return finish(new ResponseTooLargeError(status, req.maxBodyBytes))
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > req.maxBodyBytes) finish(new ResponseTooLargeError(status, req.maxBodyBytes))
        else chunks.push(chunk)
      })
      res.on('error', (err) => finish(err))
      res.on('end', () => {
        if (done) return
        try {
          finish(undefined, { status, text: decode(res.headers['content-encoding'], chunks, size, req.maxBodyBytes, status) })
        } catch (err) {
          finish(err as Error)
        }
      })
      // A socket closed mid-body without an error event (older Node versions).
      res.on('close', () => {
        if (!res.complete) finish(Object.assign(new Error('socket closed before the response was complete'), { code: 'ECONNRESET' }))
      })
    })
    request.end(body)
  })
}

/** The body as text. We never ask for compression; a proxy that compresses anyway is decoded. */
function decode(encoding: string | undefined, chunks: Buffer[], size: number, max: number, status: number): string {
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
  const coding = encoding?.trim().toLowerCase()
  if (!coding || coding === 'identity') return raw.toString('utf8')
  const decoder = decoderFor(coding)
  if (!decoder) throw new TypeError(`unsupported content-encoding ${coding}`)
  try {
    return decoder(raw, { maxOutputLength: max }).toString('utf8')
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new ResponseTooLargeError(status, max)
    throw err
  }
}

let shared: NodeTransport | undefined

/** The process-wide transport: one pool per origin shared by every client (rotation keeps the sockets). */
export function sharedNodeTransport(): NodeTransport {
  return (shared ??= createNodeTransport())
}
