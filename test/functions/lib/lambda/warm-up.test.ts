/**
 * Connection warm-up at INIT (lib/lambda/warm-up.ts, lib/net/warm.ts): it
 * opens the pooled connection the first real call then reuses, a call made
 * while it is still opening waits for it instead of opening a second one,
 * and a warm-up that cannot happen (no configuration, nothing listening, a
 * server that never answers) neither throws, nor rejects, nor delays
 * anything beyond its own deadline.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNodeTransport } from '../../../../functions/lib/githosted/node-transport.js'
import { warmUpConnections, WARM_UP_TIMEOUT_MS } from '../../../../functions/lib/lambda/warm-up.js'
import { sharedStateFor } from '../../../../functions/lib/lambda/shared-state.js'
import { createPools, closePools } from '../../../../functions/lib/net/http-client.js'
import { warmPool } from '../../../../functions/lib/net/warm.js'
import { createDynamoDb } from '../../../../functions/lib/state/dynamodb.js'

interface Counting {
  url: string
  connections: number
  requests: Array<{ method: string; url: string; authorization: string | undefined }>
  /** Holds the answer to the next GET / until released. */
  holdGet?: Promise<void>
  server: Server
  sockets: Set<Socket>
}

async function countingServer(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Counting> {
  const c = { connections: 0, requests: [], sockets: new Set<Socket>() } as unknown as Counting
  c.server = createServer(async (req, res) => {
    c.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization })
    if (handler) return handler(req, res)
    req.resume()
    await once(req, 'end')
    if (req.method === 'GET' && c.holdGet) await c.holdGet
    res.setHeader('content-type', 'application/json')
    res.end(req.method === 'GET' ? 'healthy' : '{}')
  })
  c.server.on('connection', (s: Socket) => {
    c.connections++
    c.sockets.add(s)
    s.on('close', () => c.sockets.delete(s))
  })
  c.server.keepAliveTimeout = 10_000
  c.server.listen(0, '127.0.0.1')
  await once(c.server, 'listening')
  c.url = `http://127.0.0.1:${(c.server.address() as AddressInfo).port}`
  return c
}

async function stop(c: Counting) {
  for (const s of c.sockets) s.destroy()
  await new Promise((r) => c.server.close(r))
}

const servers: Counting[] = []
const serve = async (handler?: (req: IncomingMessage, res: ServerResponse) => void) => {
  const c = await countingServer(handler)
  servers.push(c)
  return c
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map(stop))
})

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  await new Promise((r) => s.close(r))
  return url
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled).toEqual([])
})

describe('warmPool', () => {
  it('leaves an open connection in the pool that the next call reuses, with no credential sent', async () => {
    const s = await serve()
    const db = createDynamoDb({ region: 'local-1', endpoint: s.url, credentials: () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) })
    try {
      await db.warm(1_000)
      expect(s.requests).toEqual([{ method: 'GET', url: '/', authorization: undefined }])
      await db.call('GetItem', { TableName: 't', Key: {} })
      expect(s.requests.map((r) => r.method)).toEqual(['GET', 'POST'])
      expect(s.connections).toBe(1)
    } finally {
      db.close()
    }
  })

  it('never rejects: nothing listening, a server that never answers, an answer too large', async () => {
    const pools = createPools({ maxSockets: 4, maxFreeSockets: 2, idleTimeoutMs: 1_000 })
    try {
      await expect(warmPool(pools, new URL(await closedPort()), 500)).resolves.toBeUndefined()
      const silent = await serve(() => {})
      const t0 = Date.now()
      await expect(warmPool(pools, new URL(silent.url), 200)).resolves.toBeUndefined()
      expect(Date.now() - t0).toBeLessThan(2_000)
      const big = await serve((_req, res) => res.end('x'.repeat(200 * 1024)))
      await expect(warmPool(pools, new URL(big.url), 1_000)).resolves.toBeUndefined()
    } finally {
      closePools(pools)
    }
  })
})

describe('a call made while the warm-up is opening the connection', () => {
  it('waits for it and reuses its connection (state table)', async () => {
    const s = await serve()
    let release!: () => void
    s.holdGet = new Promise<void>((r) => (release = r))
    const db = createDynamoDb({ region: 'local-1', endpoint: s.url, credentials: () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) })
    try {
      const warming = db.warm(1_000)
      const call = db.call('GetItem', { TableName: 't', Key: {} })
      await new Promise((r) => setTimeout(r, 50))
      expect(s.requests.map((r) => r.method)).toEqual(['GET'])
      release()
      await Promise.all([warming, call])
      expect(s.requests.map((r) => r.method)).toEqual(['GET', 'POST'])
      expect(s.connections).toBe(1)
      // Once per client.
      await db.warm(1_000)
      expect(s.requests).toHaveLength(2)
    } finally {
      db.close()
    }
  })

  it('waits for it and reuses its connection (githosted transport)', async () => {
    const s = await serve()
    let release!: () => void
    s.holdGet = new Promise<void>((r) => (release = r))
    const transport = createNodeTransport()
    try {
      const warming = transport.warm(`${s.url}/some/base`, 1_000)
      const call = transport({ url: `${s.url}/githosted.v1.ApiService/ExchangeToken`, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2_000, maxBodyBytes: 1024 })
      await new Promise((r) => setTimeout(r, 50))
      expect(s.requests.map((r) => r.method)).toEqual(['GET'])
      release()
      const [, res] = await Promise.all([warming, call])
      expect(res.status).toBe(200)
      expect(s.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /', 'POST /githosted.v1.ApiService/ExchangeToken'])
      expect(s.connections).toBe(1)
      // The warm-up teaches the transport nothing about the protocol; the real answer does.
      expect(transport.protocolOf(s.url)).toBe('1.1')
    } finally {
      transport.close()
    }
  })

  it('waits no longer than the warm-up deadline when the server never answers it', async () => {
    const s = await serve((req, res) => {
      if (req.method === 'GET') return
      req.resume()
      req.on('end', () => res.end('{}'))
    })
    const db = createDynamoDb({ region: 'local-1', endpoint: s.url, credentials: () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) })
    try {
      void db.warm(200)
      const t0 = Date.now()
      await db.call('GetItem', { TableName: 't', Key: {} })
      expect(Date.now() - t0).toBeLessThan(2_000)
    } finally {
      db.close()
    }
  })
})

describe('warmUpConnections (what a handler calls at INIT)', () => {
  it('opens the state table and githosted connections the deps then use', async () => {
    const dynamo = await serve()
    const githosted = await serve()
    const env = { STATE_TABLE_NAME: 'warm-up-test', AWS_REGION: 'local-1', STATE_TABLE_ENDPOINT: dynamo.url, GITHOSTED_URL: githosted.url, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }
    warmUpConnections(env)
    const state = sharedStateFor({ tableName: 'warm-up-test', region: 'local-1', endpoint: dynamo.url }, env)
    try {
      await state.table.db.call('GetItem', { TableName: 'warm-up-test', Key: {} })
      expect(dynamo.requests.map((r) => r.method)).toEqual(['GET', 'POST'])
      expect(dynamo.connections).toBe(1)
      await new Promise((r) => setTimeout(r, 100))
      expect(githosted.requests).toEqual([{ method: 'GET', url: '/', authorization: undefined }])
    } finally {
      state.close()
    }
  })

  it('never throws, rejects or waits: no configuration, a malformed one, nothing listening', async () => {
    expect(() => warmUpConnections({})).not.toThrow()
    expect(() => warmUpConnections({ STATE_TABLE_NAME: 't', GITHOSTED_URL: 'not a url', STATE_TABLE_ENDPOINT: 'nor this' })).not.toThrow()
    const nowhere = await closedPort()
    const t0 = Date.now()
    warmUpConnections({ STATE_TABLE_NAME: 'warm-up-nowhere', AWS_REGION: 'local-1', STATE_TABLE_ENDPOINT: nowhere, GITHOSTED_URL: `${nowhere}/x` })
    expect(Date.now() - t0).toBeLessThan(50)
    await new Promise((r) => setTimeout(r, WARM_UP_TIMEOUT_MS / 5))
  })
})
