/**
 * The one node:http / node:https client stack of a function: pooled
 * keep-alive agents and a bounded exchange (request written, whole response
 * read). The githosted transport (POST) and the small metadata reads (OIDC
 * discovery, JWKS, the Parameters and Secrets extension: GET) both go through
 * it, so a container initializes one HTTP client, not two: WHATWG `fetch`
 * would also set up undici's dispatcher and its HTTP parser on the first call.
 *
 * Bounded: one deadline for the whole exchange (connection, headers, body), a
 * body size cap checked against Content-Length, while reading and after
 * decoding, no redirects followed (a 3xx is returned as is, like fetch's
 * `redirect: 'manual'`), no compression asked for (a compressed answer is
 * decoded only when the caller allows it, otherwise refused), and an optional
 * URL guard checked before any connection is made. `node:https` and
 * `node:zlib` are loaded on first need, not at module load; they are
 * built-ins, so loading them later cannot fail for a packaging reason.
 */
import http from 'node:http'
import type https from 'node:https'
import type zlib from 'node:zlib'
import { CappedBody, ResponseTooLargeError, declaredOver } from './capped-body.js'

/**
 * How a timeout or an abort is reported; callers with their own error contract
 * pass their constructors. An oversized body is always a ResponseTooLargeError.
 */
export interface ExchangeErrors {
  timeout(ms: number): Error
  abort(reason: unknown): Error
}

const DEFAULT_ERRORS: ExchangeErrors = {
  timeout: (ms) => Object.assign(new Error(`no response within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }),
  abort: (reason) =>
    reason instanceof Error ? reason : Object.assign(new Error('the request was aborted'), { name: 'AbortError' }),
}

/** One exchange. */
export interface ExchangeRequest {
  url: string | URL
  method: 'GET' | 'POST'
  headers?: Record<string, string>
  /** Sent with its Content-Length; none for a GET. */
  body?: Uint8Array
  /** Deadline for the whole exchange, connection and body included. */
  timeoutMs: number
  /** Larger bodies (before and after decoding) are refused. */
  maxBodyBytes: number
  /** Cancels the exchange. */
  signal?: AbortSignal
  /** Refuses (TypeError, before connecting) URLs the caller must not reach. */
  allowUrl?: (url: URL) => boolean
  /** Decode gzip/deflate/br answers (a proxy may compress unasked); otherwise they are refused. */
  decompress?: boolean
  errors?: ExchangeErrors
  /**
   * Resend once on a fresh connection when a reused socket dies before any
   * answer (default true). Callers whose request is not safe to repeat pass
   * false: a server may reset after processing it, and they must find out
   * by other means what happened.
   */
  retryStaleSocket?: boolean
}

/** The answer (any status), body read whole (and decoded). */
export interface ExchangeResponse {
  status: number
  statusText: string
  /** Header names and values as received, alternating (`IncomingMessage.rawHeaders`). */
  rawHeaders: string[]
  body: Buffer
}

/** Pool sizing. */
export interface PoolOptions {
  /** Concurrent connections per origin; further calls wait for one (inside their deadline). */
  maxSockets: number
  /** Idle connections kept per origin. */
  maxFreeSockets: number
  /** Close an idle connection after this long (sooner if the server announces less). */
  idleTimeoutMs: number
  /** Extra trusted CA certificates for https (a private githosted, tests). Default: Node's. */
  ca?: string | Buffer
}

/** Keep-alive agents per protocol; the https one (and node:https itself) only once an https URL is called. */
export interface Pools {
  'http:': http.Agent
  'https:'?: https.Agent
  readonly agentOptions: http.AgentOptions
  readonly ca?: string | Buffer
}

/**
 * Sockets stay open between calls (and between Lambda invocations) and are
 * reused most-recently-used first; an idle socket is closed before the
 * server's announced keep-alive timeout (Node's Agent honours the
 * `Keep-Alive: timeout=N` hint) or after `idleTimeoutMs`, whichever is sooner.
 */
export function createPools(options: PoolOptions): Pools {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    // Bounded so a burst cannot open an unbounded number of sockets to one origin.
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxFreeSockets,
    // Idle sockets only as far as we are concerned: our own deadline governs busy ones.
    timeout: options.idleTimeoutMs,
    scheduling: 'lifo',
  }
  return { 'http:': new http.Agent(agentOptions), agentOptions, ...(options.ca ? { ca: options.ca } : {}) }
}

/** Closes every pooled connection. */
export function closePools(pools: Pools): void {
  pools['http:'].destroy()
  pools['https:']?.destroy()
}

function clientFor(pools: Pools, protocol: 'http:' | 'https:'): { request: typeof http.request; agent: http.Agent } {
  if (protocol === 'http:') return { request: http.request, agent: pools['http:'] }
  const h = process.getBuiltinModule('node:https') as typeof https
  // Announcing http/1.1 in ALPN lets an HTTP/2-only server refuse at once (alert
  // no_application_protocol) instead of answering an error page; the caller can then switch.
  const tls: https.AgentOptions = { ...pools.agentOptions, ALPNProtocols: ['http/1.1'], ...(pools.ca ? { ca: pools.ca } : {}) }
  return { request: h.request, agent: (pools['https:'] ??= new h.Agent(tls)) }
}

/**
 * Sends one request and reads the whole answer; rejects on timeout, abort,
 * oversize or network error (the system error, its `code` on it).
 *
 * A pooled socket can die while idle: the server closed it, or a Lambda
 * sandbox was frozen past the server's keep-alive timeout. A request written
 * to such a socket fails with ECONNRESET/EPIPE before any response, and the
 * server never processed it; Node's documentation recommends exactly one
 * retry on a fresh connection in that case (`request.reusedSocket`).
 */
export async function exchange(req: ExchangeRequest, pools: Pools): Promise<ExchangeResponse> {
  try {
    return await exchangeOnce(req, pools)
  } catch (err) {
    if (!(err as { staleSocket?: boolean }).staleSocket || req.retryStaleSocket === false) throw err
    return exchangeOnce(req, pools)
  }
}

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

function exchangeOnce(req: ExchangeRequest, pools: Pools): Promise<ExchangeResponse> {
  const errors = req.errors ?? DEFAULT_ERRORS
  return new Promise((resolve, reject) => {
    const { signal } = req
    if (signal?.aborted) return reject(errors.abort(signal.reason))
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url
    const protocol = url.protocol
    if (protocol !== 'http:' && protocol !== 'https:') {
      return reject(new TypeError(`unsupported protocol ${protocol}`))
    }
    if (req.allowUrl && !req.allowUrl(url)) return reject(new TypeError(`refused URL scheme or host (${protocol})`))
    const { request: send, agent } = clientFor(pools, protocol)
    const headers = req.body ? { ...req.headers, 'Content-Length': String(req.body.length) } : req.headers
    const request = send({
      protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      method: req.method,
      headers,
      agent,
    })

    let done = false
    const finish = (err: Error | undefined, value?: ExchangeResponse) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (err) {
        // Destroying closes the socket: it must not go back to the pool half-read.
        request.destroy()
        reject(err)
      } else resolve(value!)
    }
    const onAbort = () => finish(errors.abort(signal!.reason))
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => finish(errors.timeout(req.timeoutMs)), req.timeoutMs)

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
      const tooLarge = () => new ResponseTooLargeError(req.maxBodyBytes, status)
      if (declaredOver(res.headers['content-length'], req.maxBodyBytes)) return finish(tooLarge())
      const coding = res.headers['content-encoding']?.trim().toLowerCase()
      const decoder = coding && coding !== 'identity' ? decoderFor(coding, req.decompress === true) : undefined
      if (decoder instanceof Error) return finish(decoder)
      const chunks = new CappedBody(req.maxBodyBytes)
      res.on('data', (chunk: Buffer) => {
        if (!chunks.add(chunk)) finish(tooLarge())
      })
      res.on('error', (err) => finish(err))
      res.on('end', () => {
        if (done) return
        const raw = chunks.bytes()
        let body: Buffer
        try {
          body = decoder ? decoder(raw, { maxOutputLength: req.maxBodyBytes }) : raw
        } catch (err) {
          // Node's name for an output over maxOutputLength: the body decoded to more than the cap.
          return finish((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? tooLarge() : (err as Error))
        }
        finish(undefined, { status, statusText: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body })
      })
      // A socket closed mid-body without an error event (older Node versions).
      res.on('close', () => {
        if (!res.complete) finish(Object.assign(new Error('socket closed before the response was complete'), { code: 'ECONNRESET' }))
      })
    })
    request.end(req.body)
  })
}

type Decoder = (b: Buffer, o: { maxOutputLength: number }) => Buffer

const DECODER_NAMES: Record<string, 'gunzipSync' | 'inflateSync' | 'brotliDecompressSync'> = {
  gzip: 'gunzipSync',
  'x-gzip': 'gunzipSync',
  deflate: 'inflateSync',
  br: 'brotliDecompressSync',
}

/** The decoder for a content-coding (node:zlib loaded the first time one is needed), or why not. */
function decoderFor(coding: string, allowed: boolean): Decoder | Error {
  const name = allowed ? DECODER_NAMES[coding] : undefined
  if (!name) return new TypeError(`unsupported content-encoding ${coding}`)
  const z = process.getBuiltinModule('node:zlib') as typeof zlib
  return z[name] as Decoder
}

/** One GET for a small document. */
export type GetRequest = Omit<ExchangeRequest, 'method' | 'body' | 'decompress' | 'errors'>

// Metadata reads are few; small pools keep a burst from opening many sockets to one origin.
let metadataPools: Pools | undefined

/** A bounded GET on the process-wide metadata pools; compressed answers are refused. */
export function nodeGet(req: GetRequest): Promise<ExchangeResponse> {
  metadataPools ??= createPools({ maxSockets: 8, maxFreeSockets: 2, idleTimeoutMs: 4_000 })
  return exchange({ ...req, method: 'GET' }, metadataPools)
}

/** What a fetch-compatible GET needs besides the call's own init. */
export interface NodeFetchOptions {
  timeoutMs: number
  maxBodyBytes: number
  allowUrl?: (url: URL) => boolean
}

function headerRecord(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!init) return out
  if (Array.isArray(init)) for (const [k, v] of init) out[k!.toLowerCase()] = v!
  else if (typeof (init as Headers).forEach === 'function') (init as Headers).forEach((v, k) => (out[k] = v))
  else for (const [k, v] of Object.entries(init)) out[k.toLowerCase()] = v
  return out
}

/**
 * A `fetch` for GET only (what jose's `customFetch` and OIDC discovery need),
 * over nodeGet: the Response is built from the whole, already bounded body.
 * Any other method, or a Request object, is a TypeError.
 */
export function nodeFetch(options: NodeFetchOptions): typeof fetch {
  return async (input, init) => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('nodeFetch takes a URL, not a Request')
    const method = (init?.method ?? 'GET').toUpperCase()
    if (method !== 'GET') throw new TypeError(`nodeFetch supports GET only, not ${method}`)
    const res = await nodeGet({
      url: input,
      headers: headerRecord(init?.headers),
      timeoutMs: options.timeoutMs,
      maxBodyBytes: options.maxBodyBytes,
      ...(init?.signal ? { signal: init.signal } : {}),
      ...(options.allowUrl ? { allowUrl: options.allowUrl } : {}),
    })
    const headers: Array<[string, string]> = []
    const raw = res.rawHeaders
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!])
    const empty = res.status === 204 || res.status === 304
    // Socket buffers are backed by plain ArrayBuffers, never shared memory.
    const body = empty ? null : (res.body as Uint8Array<ArrayBuffer>)
    return new Response(body, { status: res.status, statusText: res.statusText, headers })
  }
}
