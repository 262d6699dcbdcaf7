/**
 * The default transport (node:http with a keep-alive agent) against real HTTP
 * servers on 127.0.0.1, and the client's error mapping over it. Each server
 * counts the TCP connections it accepted, so keep-alive reuse is observable
 * where it happens.
 */
import http from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import {
  Client,
  GithostedError,
  GithostedNetworkError,
  GithostedTimeoutError,
} from '../../../../functions/lib/githosted/index.js'
import {
  createNodeTransport,
  type NodeTransport,
} from '../../../../functions/lib/githosted/node-transport.js'
import {
  fetchTransport,
  type TransportRequest,
} from '../../../../functions/lib/githosted/transport.js'
import { ResponseTooLargeError } from '../../../../functions/lib/net/capped-body.js'
import { virtualTime } from './fake-connect.js'

const TOKEN = ['gw', 'N'.repeat(12) + 'secretpart' + 'x'.repeat(12)].join('_')
const EXCHANGE = '/githosted.v1.ApiService/ExchangeToken'
const ISSUED = {
  token: ['gr', 'R'.repeat(24)].join('_'),
  record: { id: 'tok_1', prefix: 'gr_RRRR', name: 'n', kind: 'TOKEN_KIND_REPO', permission: 'PERMISSION_READ' },
}

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

interface TestServer {
  url: string
  port: number
  /** TCP connections accepted so far. */
  connections: number
  /** Most connections open at the same time. */
  maxOpen: number
  requests: Seen[]
  /** Resolves once `n` connections have been closed. */
  closedConnections(n: number): Promise<void>
  close(): Promise<void>
}

type Respond = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

const servers: TestServer[] = []
const transports: NodeTransport[] = []

async function serve(respond: Respond): Promise<TestServer> {
  const sockets = new Set<Socket>()
  let closed = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      respond(req, res, body)
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => {
    state.connections++
    sockets.add(socket)
    state.maxOpen = Math.max(state.maxOpen, sockets.size)
    socket.on('close', () => {
      sockets.delete(socket)
      closed++
      for (const w of waiters.filter((x) => closed >= x.n)) w.resolve()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const state: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: 0,
    maxOpen: 0,
    requests: [],
    closedConnections: (n) =>
      closed >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  servers.push(state)
  return state
}

function transport(options: Parameters<typeof createNodeTransport>[0] = {}): NodeTransport {
  const t = createNodeTransport(options)
  transports.push(t)
  return t
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function req(url: string, extra: Partial<TransportRequest> = {}): TransportRequest {
  return {
    url,
    headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' },
    body: '{"a":"é"}',
    timeoutMs: 5_000,
    maxBodyBytes: 1024 * 1024,
    ...extra,
  }
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

function client(baseUrl: string, extra: ConstructorParameters<typeof Client>[0] = {}) {
  return new Client({ token: TOKEN, baseUrl, transport: transport(), ...virtualTime().deps, ...extra })
}

afterEach(async () => {
  for (const t of transports.splice(0)) t.close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('node transport: wire', () => {
  it('sends a POST with the given headers, an exact Content-Length and the UTF-8 body', async () => {
    const server = await serve((_q, res) => json(res, 200, { ok: true }))
    const out = await transport()(req(`${server.url}/svc/Method?x=1`))
    expect(out).toEqual({ status: 200, text: '{"ok":true}' })
    const seen = server.requests[0]!
    expect(seen.method).toBe('POST')
    expect(seen.url).toBe('/svc/Method?x=1')
    expect(seen.headers['content-type']).toBe('application/json')
    expect(seen.headers['x-test']).toBe('yes')
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')))
    expect(seen.headers['transfer-encoding']).toBeUndefined()
    expect(seen.body).toBe('{"a":"é"}')
  })

  it('reuses one connection for sequential calls (keep-alive)', async () => {
    const server = await serve((_q, res, body) => json(res, 200, { echo: body }))
    const t = transport()
    for (let i = 0; i < 5; i++) {
      const out = await t(req(server.url + '/m', { body: `{"i":${i}}` }))
      expect(JSON.parse(out.text)).toEqual({ echo: `{"i":${i}}` })
    }
    expect(server.requests).toHaveLength(5)
    expect(server.connections).toBe(1)
  })

  it('keeps non-200 answers as answers (the caller maps them), still on one connection', async () => {
    const server = await serve((q, res) =>
      q.url === '/bad' ? json(res, 409, { code: 'aborted', message: 'busy' }) : json(res, 200, {}),
    )
    const t = transport()
    expect(await t(req(server.url + '/bad'))).toEqual({ status: 409, text: '{"code":"aborted","message":"busy"}' })
    expect((await t(req(server.url + '/ok'))).status).toBe(200)
    expect(server.connections).toBe(1)
  })

  it('bounds concurrent connections per origin by maxSockets', async () => {
    const held: Array<() => void> = []
    const server = await serve((_q, res) => held.push(() => json(res, 200, {})))
    const t = transport({ maxSockets: 2 })
    const calls = Array.from({ length: 6 }, () => t(req(server.url + '/m')))
    // Release answers as they arrive until all six are served.
    let served = 0
    while (served < 6) {
      await new Promise((r) => setImmediate(r))
      const next = held.shift()
      if (next) {
        next()
        served++
      }
    }
    await Promise.all(calls)
    expect(server.requests).toHaveLength(6)
    expect(server.connections).toBe(2)
    expect(server.maxOpen).toBe(2)
  })

  it('closes an idle connection after idleTimeoutMs, then opens a new one', async () => {
    const server = await serve((_q, res) => json(res, 200, {}))
    const t = transport({ idleTimeoutMs: 20 })
    await t(req(server.url + '/m'))
    await server.closedConnections(1)
    await t(req(server.url + '/m'))
    expect(server.connections).toBe(2)
  })

  it('the idle timeout does not cut a busy connection (only the call deadline does)', async () => {
    const server = await serve((_q, res) => setTimeout(() => json(res, 200, { late: true }), 150))
    const out = await transport({ idleTimeoutMs: 20 })(req(server.url + '/m', { timeoutMs: 5_000 }))
    expect(JSON.parse(out.text)).toEqual({ late: true })
  })

  it('decodes a gzip body a proxy compressed without being asked', async () => {
    const server = await serve((_q, res) => {
      const z = gzipSync(JSON.stringify({ token: 'x' }))
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length })
      res.end(z)
    })
    expect((await transport()(req(server.url + '/m'))).text).toBe('{"token":"x"}')
    expect(server.requests[0]!.headers['accept-encoding']).toBeUndefined()
  })
})

describe('node transport: failures', () => {
  it('retries once on a fresh connection when a pooled socket turns out to be dead (server closed it while idle)', async () => {
    // A raw server: answers the first request of each connection with keep-alive, then resets
    // the connection when a second request arrives on it, as a server that already dropped an
    // idle socket (or a Lambda thawed after the server's keep-alive timeout) would look.
    let connections = 0
    const server = net.createServer((socket) => {
      connections++
      let served = 0
      socket.on('data', () => {
        served++
        if (served === 1) {
          const body = '{"patch":"ok"}'
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`)
        } else {
          socket.resetAndDestroy()
        }
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`
    const t = transport()
    try {
      expect((await t(req(url))).text).toBe('{"patch":"ok"}')
      expect((await t(req(url))).text).toBe('{"patch":"ok"}')
      expect(connections).toBe(2)
    } finally {
      t.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('a server that never answers times out with a TimeoutError and the socket is dropped', async () => {
    const server = await serve(() => {})
    const err = (await transport()(req(server.url + '/m', { timeoutMs: 50 })).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('TimeoutError')
    await server.closedConnections(1)
    expect(server.connections).toBe(1)
  })

  it('a body that stalls mid-way also times out', async () => {
    const server = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"patch":')
    })
    const err = (await transport()(req(server.url + '/m', { timeoutMs: 50 })).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('TimeoutError')
  })

  it('a refused connection rejects with ECONNREFUSED', async () => {
    const port = await freePort()
    const err = (await transport()(req(`http://127.0.0.1:${port}/m`)).catch((e: unknown) => e)) as NodeJS.ErrnoException
    expect(err.code).toBe('ECONNREFUSED')
  })

  it('an abort mid-request rejects with an AbortError and closes the socket', async () => {
    const server = await serve(() => {})
    const ctrl = new AbortController()
    const call = transport()(req(server.url + '/m', { signal: ctrl.signal }))
    while (server.requests.length === 0) await new Promise((r) => setImmediate(r))
    ctrl.abort(new Error('caller gave up'))
    const err = (await call.catch((e: unknown) => e)) as Error
    expect(err.name).toBe('AbortError')
    await server.closedConnections(1)
  })

  it('an already aborted signal rejects without connecting', async () => {
    const server = await serve((_q, res) => json(res, 200, {}))
    const err = (await transport()(req(server.url + '/m', { signal: AbortSignal.abort() })).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('AbortError')
    expect(server.connections).toBe(0)
  })

  it('refuses a body whose Content-Length is over the cap, without reusing that socket', async () => {
    const server = await serve((q, res) => (q.url === '/big' ? json(res, 200, { blob: 'x'.repeat(2000) }) : json(res, 200, {})))
    const t = transport()
    const err = (await t(req(server.url + '/big', { maxBodyBytes: 1000 })).catch((e: unknown) => e)) as ResponseTooLargeError
    expect(err).toBeInstanceOf(ResponseTooLargeError)
    expect(err.limit).toBe(1000)
    expect((await t(req(server.url + '/ok'))).status).toBe(200)
    expect(server.connections).toBe(2)
  })

  it('refuses a chunked body once it grows past the cap', async () => {
    const server = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      for (let i = 0; i < 10; i++) res.write('x'.repeat(300))
      res.end()
    })
    const err = await transport()(req(server.url + '/m', { maxBodyBytes: 1000 })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResponseTooLargeError)
  })

  it('a connection reset before the answer rejects with ECONNRESET', async () => {
    const server = await serve((q) => q.socket.destroy())
    const err = (await transport()(req(server.url + '/m')).catch((e: unknown) => e)) as NodeJS.ErrnoException
    expect(err.code).toBe('ECONNRESET')
  })
})

describe('client over the node transport: error mapping', () => {
  it('mints over the default transport, one connection shared by clients of different tokens', async () => {
    const server = await serve((_q, res) => json(res, 200, ISSUED))
    const shared = transport()
    const a = new Client({ token: TOKEN, baseUrl: server.url, transport: shared })
    const b = new Client({ token: TOKEN.replace('secretpart', 'otherpart0'), baseUrl: server.url, transport: shared })
    const issued = await a.exchangeToken({ repoAllowlist: ['r'] })
    await b.exchangeToken({ repoAllowlist: ['r'] })
    expect(issued.record.id).toBe('tok_1')
    expect(server.connections).toBe(1)
    const h = server.requests[0]!.headers
    expect(h['connect-protocol-version']).toBe('1')
    expect(h['x-githosted-client']).toBe('githosted-ci-broker')
    expect(h['x-request-id']).toMatch(/^req_/)
    expect(h.authorization).toBe(`Bearer ${TOKEN}`)
    expect(server.requests[0]!.url).toBe(EXCHANGE)
  })

  it('a Client without an injected fetch or transport uses node:http (no fetch-only headers)', async () => {
    const server = await serve((_q, res) => json(res, 200, ISSUED))
    await new Client({ token: TOKEN, baseUrl: server.url }).exchangeToken({ repoAllowlist: ['r'] })
    expect(server.requests[0]!.headers['sec-fetch-mode']).toBeUndefined()
  })

  it('connection refused: GithostedNetworkError that never reached the server, retried', async () => {
    const port = await freePort()
    const time = virtualTime()
    const c = client(`http://127.0.0.1:${port}`, { ...time.deps, retry: { maxRetries: 2 } })
    const err = (await c.exchangeToken({ repoAllowlist: ['r'] }).catch((e: unknown) => e)) as GithostedNetworkError
    expect(err).toBeInstanceOf(GithostedNetworkError)
    expect(err.networkCode).toBe('ECONNREFUSED')
    expect(err.mayHaveReachedServer).toBe(false)
    expect(time.sleeps).toHaveLength(2)
  })

  it('a reset after sending: may have reached the server, a write is not retried', async () => {
    const server = await serve((q) => q.socket.destroy())
    const time = virtualTime()
    const c = client(server.url, { ...time.deps, retry: { maxRetries: 3 } })
    const err = (await c.exchangeToken({ repoAllowlist: ['r'] }).catch((e: unknown) => e)) as GithostedNetworkError
    expect(err).toBeInstanceOf(GithostedNetworkError)
    expect(err.networkCode).toBe('ECONNRESET')
    expect(err.mayHaveReachedServer).toBe(true)
    expect(server.requests).toHaveLength(1)
    expect(err.message).not.toContain('secretpart')
  })

  it('no answer within timeoutMs: GithostedTimeoutError, not retried', async () => {
    const server = await serve(() => {})
    const c = client(server.url, { timeoutMs: 50 })
    const err = (await c.exchangeToken({ repoAllowlist: ['r'] }).catch((e: unknown) => e)) as GithostedTimeoutError
    expect(err).toBeInstanceOf(GithostedTimeoutError)
    expect(err.code).toBe('GITHOSTED_TIMEOUT')
    expect(err.message).toContain('50 ms')
    expect(server.requests).toHaveLength(1)
  })

  it('an oversized answer: GithostedError resource_exhausted with the HTTP status', async () => {
    const server = await serve((_q, res) => json(res, 200, { ...ISSUED, pad: 'p'.repeat(4000) }))
    const c = client(server.url, { maxResponseBytes: 1000 })
    const err = (await c.exchangeToken({ repoAllowlist: ['r'] }).catch((e: unknown) => e)) as GithostedError
    expect(err).toBeInstanceOf(GithostedError)
    expect(err.connectCode).toBe('resource_exhausted')
    expect(err.httpStatus).toBe(200)
  })
})

describe('fetch transport (injected fetch): same failure contract', () => {
  it('caps the body and maps its own timeout and an outside abort', async () => {
    const server = await serve((q, res) => (q.url === '/slow' ? undefined : json(res, 200, { blob: 'x'.repeat(2000) })))
    const t = fetchTransport((i, o) => fetch(i, o))
    expect(await t(req(server.url + '/big', { maxBodyBytes: 1000 })).catch((e: unknown) => e)).toBeInstanceOf(ResponseTooLargeError)
    expect(((await t(req(server.url + '/slow', { timeoutMs: 50 })).catch((e: unknown) => e)) as Error).name).toBe('TimeoutError')
    const ctrl = new AbortController()
    const call = t(req(server.url + '/slow', { signal: ctrl.signal }))
    while (server.requests.filter((r) => r.url === '/slow').length < 2) await new Promise((r) => setImmediate(r))
    ctrl.abort()
    expect(((await call.catch((e: unknown) => e)) as Error).name).toBe('AbortError')
  })
})
