/**
 * HTTP/2 for servers that require it (the official Node SDK speaks only
 * HTTP/2, so a githosted built for it may refuse HTTP/1.1): h2c with prior
 * knowledge for `http://`, ALPN `h2` for `https://`. One session per origin,
 * multiplexing every call; a session that closes or fails is dropped and the
 * next call opens a new one.
 */
import type * as http2 from 'node:http2'
import type { TransportRequest, TransportResponse } from './transport.js'
import { CappedBody, ResponseTooLargeError, declaredOver } from '../net/capped-body.js'
import { abortError, timeoutError } from './transport.js'

/** Sessions per origin, plus how to close them all. */
export interface H2Sessions {
  get(origin: string): http2.ClientHttp2Session
  close(): void
}

function h2(): typeof http2 {
  return process.getBuiltinModule('node:http2') as typeof http2
}

/** Sessions whose peer has sent its SETTINGS: proven HTTP/2 servers. */
const confirmed = new WeakSet<http2.ClientHttp2Session>()

export function createH2Sessions(idleTimeoutMs: number, ca?: string | Buffer): H2Sessions {
  const sessions = new Map<string, http2.ClientHttp2Session>()
  return {
    get(origin) {
      const open = sessions.get(origin)
      if (open && !open.closed && !open.destroyed) return open
      const session = h2().connect(origin, ca ? { ca } : {})
      sessions.set(origin, session)
      const drop = () => {
        if (sessions.get(origin) === session) sessions.delete(origin)
      }
      session.once('remoteSettings', () => confirmed.add(session))
      session.on('close', drop)
      session.on('goaway', drop)
      // Errors reach the streams using the session; this only keeps them from being uncaught.
      session.on('error', drop)
      session.setTimeout(idleTimeoutMs, () => session.close())
      // An idle session must not keep the process (a CLI, a test run) alive.
      session.unref()
      return session
    },
    close() {
      for (const s of sessions.values()) s.destroy()
      sessions.clear()
    },
  }
}

/**
 * Whether `origin` speaks HTTP/2: opens a session and waits for the server's
 * SETTINGS frame (the one proof a peer is an HTTP/2 server) within `ms`.
 */
export function speaksH2(sessions: H2Sessions, origin: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let session: http2.ClientHttp2Session
    try {
      session = sessions.get(origin)
    } catch {
      return resolve(false)
    }
    if (confirmed.has(session)) return resolve(true)
    const timer = setTimeout(() => finish(false), ms)
    const onSettings = () => finish(true)
    const onFail = () => finish(false)
    function finish(ok: boolean) {
      clearTimeout(timer)
      session.off('remoteSettings', onSettings)
      session.off('error', onFail)
      session.off('close', onFail)
      if (!ok) session.destroy()
      resolve(ok)
    }
    session.once('remoteSettings', onSettings)
    session.once('error', onFail)
    session.once('close', onFail)
  })
}

/** One POST over the origin's HTTP/2 session, under the same contract as every Transport. */
export function h2Post(sessions: H2Sessions, req: TransportRequest): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) return reject(abortError(req.signal.reason))
    const url = new URL(req.url)
    let session: http2.ClientHttp2Session
    try {
      session = sessions.get(url.origin)
    } catch (err) {
      return reject(err)
    }
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': url.pathname + url.search,
      'content-length': Buffer.byteLength(req.body),
    }
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v
    const stream = session.request(headers)
    let done = false
    const finish = (err: Error | undefined, value?: TransportResponse) => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
      if (err) {
        stream.close(h2().constants.NGHTTP2_CANCEL)
        reject(err)
      } else resolve(value!)
    }
    const onAbort = () => finish(abortError(req.signal!.reason))
    req.signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => finish(timeoutError(req.timeoutMs)), req.timeoutMs)

    let status = 0
    const chunks = new CappedBody(req.maxBodyBytes)
    stream.on('response', (h) => {
      status = Number(h[':status'] ?? 0)
      if (declaredOver(h['content-length'], req.maxBodyBytes)) finish(new ResponseTooLargeError(req.maxBodyBytes, status))
    })
    stream.on('data', (chunk: Buffer) => {
      if (!chunks.add(chunk)) finish(new ResponseTooLargeError(req.maxBodyBytes, status))
    })
    stream.on('end', () => {
      if (status === 0) return finish(Object.assign(new Error('stream ended without a response'), { code: 'ECONNRESET' }))
      finish(undefined, { status, text: chunks.bytes().toString('utf8') })
    })
    stream.on('error', (err) => finish(err))
    stream.on('close', () => {
      if (!done) finish(Object.assign(new Error(`stream closed (code ${stream.rstCode ?? '?'}) before the response was complete`), { code: 'ECONNRESET' }))
    })
    stream.end(req.body)
  })
}
