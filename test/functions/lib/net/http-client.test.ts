import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ResponseTooLargeError } from '../../../../functions/lib/net/capped-body.js'
import { nodeFetch, nodeGet } from '../../../../functions/lib/net/http-client.js'

let server: Server
let base: string
let handle: (req: IncomingMessage, res: ServerResponse) => void
let requests: IncomingMessage[]
let connections: number

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req)
    handle(req, res)
  })
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})
beforeEach(() => {
  requests = []
  connections = 0
  handle = (_req, res) => res.end('ok')
})

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(Error)
  return err as Error
}

const limits = { timeoutMs: 5_000, maxBodyBytes: 1024 }

describe('nodeGet', () => {
  it('passes status, headers and body through, and sends the caller headers', async () => {
    handle = (req, res) => {
      res.writeHead(404, 'Nope', { 'X-Seen': String(req.headers['x-probe']) })
      res.end('missing')
    }
    const res = await nodeGet({ url: `${base}/a?b=1`, headers: { 'x-probe': 'p1' }, ...limits })
    expect(res.status).toBe(404)
    expect(res.statusText).toBe('Nope')
    expect(res.rawHeaders).toEqual(expect.arrayContaining(['X-Seen', 'p1']))
    expect(res.body.toString()).toBe('missing')
    expect(requests[0]!.method).toBe('GET')
    expect(requests[0]!.url).toBe('/a?b=1')
  })

  it('reuses one kept-alive connection for successive calls', async () => {
    for (let i = 0; i < 3; i++) expect((await nodeGet({ url: base, ...limits })).body.toString()).toBe('ok')
    expect(requests).toHaveLength(3)
    expect(new Set(requests.map((r) => r.socket.remotePort)).size).toBe(1)
  })

  it('accepts a body of exactly the cap and refuses one byte more, declared or chunked', async () => {
    handle = (_req, res) => res.end('x'.repeat(1024))
    expect((await nodeGet({ url: base, ...limits })).body).toHaveLength(1024)
    handle = (_req, res) => res.end('x'.repeat(1025))
    expect(await rejection(nodeGet({ url: base, ...limits }))).toBeInstanceOf(ResponseTooLargeError)
    handle = (_req, res) => {
      // No Content-Length: the cap must hold while reading.
      res.write('x'.repeat(800))
      res.end('y'.repeat(800))
    }
    const err = await rejection(nodeGet({ url: base, ...limits }))
    expect(err).toBeInstanceOf(ResponseTooLargeError)
    expect(err.message).toBe('response larger than 1024 bytes')
  })

  it('gives up on a server that never answers, as a TimeoutError', async () => {
    handle = () => {}
    const err = await rejection(nodeGet({ url: base, timeoutMs: 50, maxBodyBytes: 1024 }))
    expect(err.name).toBe('TimeoutError')
  })

  it('rejects with the signal reason when aborted', async () => {
    handle = () => {}
    const controller = new AbortController()
    const pending = nodeGet({ url: base, ...limits, signal: controller.signal })
    controller.abort(Object.assign(new Error('stop'), { name: 'TimeoutError' }))
    const err = await rejection(pending)
    expect(err.message).toBe('stop')
  })

  it('does not follow redirects', async () => {
    handle = (req, res) => {
      if (req.url === '/elsewhere') return res.end('followed')
      res.writeHead(302, { location: '/elsewhere' })
      res.end()
    }
    const res = await nodeGet({ url: `${base}/start`, ...limits })
    expect(res.status).toBe(302)
    expect(requests.map((r) => r.url)).toEqual(['/start'])
  })

  it('refuses URLs the caller disallows, and non-http schemes, before connecting', async () => {
    const httpsOnly = (url: URL) => url.protocol === 'https:'
    expect(await rejection(nodeGet({ url: base, ...limits, allowUrl: httpsOnly }))).toBeInstanceOf(TypeError)
    expect(await rejection(nodeGet({ url: 'file:///etc/passwd', ...limits }))).toBeInstanceOf(TypeError)
    expect(connections).toBe(0)
  })

  it('refuses a compressed body it did not ask for', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(gzipSync('{}'))
    }
    expect((await rejection(nodeGet({ url: base, ...limits }))).message).toContain('content-encoding')
  })
})

describe('nodeFetch', () => {
  it('returns a Response with status, headers and body, and sends Headers-object headers', async () => {
    handle = (req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ accept: req.headers.accept }))
    }
    const f = nodeFetch(limits)
    const res = await f(new URL(base), { headers: new Headers({ Accept: 'application/json' }), redirect: 'manual' })
    expect(res).toBeInstanceOf(Response)
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({ accept: 'application/json' })
  })

  it('gives a 204 an empty body and maps a 500 through', async () => {
    handle = (_req, res) => {
      res.writeHead(204)
      res.end()
    }
    const f = nodeFetch(limits)
    expect(await (await f(base)).text()).toBe('')
    handle = (_req, res) => {
      res.writeHead(500)
      res.end('down')
    }
    const res = await f(base)
    expect([res.status, await res.text()]).toEqual([500, 'down'])
  })

  it('supports GET only and enforces its cap and URL guard', async () => {
    const f = nodeFetch({ ...limits, allowUrl: (url) => url.protocol === 'https:' })
    expect(await rejection(f(base, { method: 'POST' }))).toBeInstanceOf(TypeError)
    expect(await rejection(f(base))).toBeInstanceOf(TypeError)
    expect(connections).toBe(0)
    handle = (_req, res) => res.end('x'.repeat(2048))
    expect(await rejection(nodeFetch(limits)(base))).toBeInstanceOf(ResponseTooLargeError)
  })
})
