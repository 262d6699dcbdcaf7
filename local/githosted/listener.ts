import * as http from 'node:http'
import * as http2 from 'node:http2'
import * as net from 'node:net'
import { Duplex } from 'node:stream'

type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void
type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/**
 * Replays the bytes already read from a socket, then relays the socket.
 * Node's HTTP/2 server reads a net.Socket's native handle directly, so bytes
 * put back with `unshift` would be lost; a plain Duplex makes it go through
 * the JS stream path where the replayed preface is seen.
 */
class ReplayDuplex extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    first: Buffer,
  ) {
    super()
    this.push(first)
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('error', (err) => this.destroy(err))
    socket.on('close', () => this.destroy())
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, encoding, cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy()
    cb(err)
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms, cb)
    return this
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay)
    return this
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay)
    return this
  }
}

/** A started listener serving HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port. */
export interface DualListener {
  port: number
  close(): Promise<void>
}

/**
 * Listens on one TCP port and routes each connection by its first bytes: the
 * HTTP/2 connection preface goes to an h2c server, anything else to HTTP/1.1.
 */
export async function listenDual(
  handler: Handler,
  host: string,
  port: number,
  /** Asked per connection; false resets HTTP/1.1 connections (an h2-only server). */
  http1: () => boolean = () => true,
): Promise<DualListener> {
  const h1 = http.createServer(handler as http.RequestListener)
  h1.keepAliveTimeout = 5_000
  const h2 = http2.createServer({}, handler as H2Handler)
  const sockets = new Set<net.Socket>()
  const sessions = new Set<http2.ServerHttp2Session>()
  h2.on('session', (s) => {
    sessions.add(s)
    s.on('close', () => sessions.delete(s))
  })

  // noDelay: small unary responses must not wait for Nagle + delayed ACK (~40 ms on h2).
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.once('data', (first: Buffer) => {
      socket.pause()
      const n = Math.min(first.length, H2_PREFACE.length)
      if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        h2.emit('connection', new ReplayDuplex(socket, first))
      } else if (!http1()) {
        socket.resetAndDestroy()
      } else {
        socket.unshift(first)
        h1.emit('connection', socket)
        socket.resume()
      }
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as net.AddressInfo

  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sessions) s.destroy()
        h1.closeAllConnections()
        for (const s of sockets) s.destroy()
      }),
  }
}
