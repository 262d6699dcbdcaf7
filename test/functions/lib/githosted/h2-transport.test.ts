/**
 * HTTP version discovery in the node transport: HTTP/1.1 keep-alive by
 * default; h2c with prior knowledge when an http:// server refuses HTTP/1.1;
 * ALPN h2 when an https:// server only offers h2. Real servers on loopback
 * (a self-signed certificate made with openssl for the TLS ones).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import http2 from 'node:http2'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeTransport } from '../../../../functions/lib/githosted/node-transport.js'
import { startTestGithosted } from '../../../helpers/githosted.js'

const req = (url: string, body = '{}') => ({ url, headers: { 'content-type': 'application/json' }, body, timeoutMs: 5_000, maxBodyBytes: 1 << 20 })

let dir: string
let key: Buffer
let cert: Buffer
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2-tls-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  key = readFileSync(join(dir, 'key.pem'))
  cert = readFileSync(join(dir, 'cert.pem'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('https', () => {
  it('an h2-only server (ALPN h2, no HTTP/1.1) is reached over HTTP/2 and remembered', async () => {
    const seen: string[] = []
    const server = http2.createSecureServer({ key, cert, allowHTTP1: false }, (r, res) => {
      seen.push(r.httpVersion)
      let body = ''
      r.on('data', (c: Buffer) => (body += c))
      r.on('end', () => res.end(JSON.stringify({ echo: body })))
    })
    const origin = `https://${await listen(server)}`
    const t = createNodeTransport({ ca: cert })
    try {
      const first = await t(req(`${origin}/m`, '{"a":1}'))
      expect(first).toEqual({ status: 200, text: '{"echo":"{\\"a\\":1}"}' })
      expect(t.protocolOf(origin)).toBe('2')
      await t(req(`${origin}/m`))
      expect(seen).toEqual(['2.0', '2.0'])
    } finally {
      t.close()
      server.close()
    }
  })

  it('an HTTP/1.1 server stays on HTTP/1.1 (keep-alive)', async () => {
    const server = https.createServer({ key, cert }, (_r, res) => res.end('{}'))
    const origin = `https://${await listen(server)}`
    const t = createNodeTransport({ ca: cert })
    try {
      expect((await t(req(`${origin}/m`))).status).toBe(200)
      expect(t.protocolOf(origin)).toBe('1.1')
    } finally {
      t.close()
      server.close()
    }
  })
})

describe('http', () => {
  it('h2c with prior knowledge for the minimal profile; HTTP/1.1 for the documented one', async () => {
    const minimal = await startTestGithosted({ profile: 'minimal' })
    const documented = await startTestGithosted({ profile: 'documented' })
    const t = createNodeTransport()
    try {
      const call = (url: string) => t(req(`${url}/githosted.v1.RepoService/ListFiles`, '{"repoRef":"deploy-configs"}'))
      expect((await call(minimal.url)).status).toBe(401)
      expect(t.protocolOf(minimal.url)).toBe('2')
      expect((await call(documented.url)).status).toBe(401)
      expect(t.protocolOf(documented.url)).toBe('1.1')
    } finally {
      t.close()
      await minimal.close()
      await documented.close()
    }
  })

  it('a server that speaks neither keeps the original error and is not switched', async () => {
    const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()))
    const origin = `http://${await listen(server)}`
    const t = createNodeTransport()
    try {
      await expect(t(req(`${origin}/m`))).rejects.toMatchObject({ code: 'ECONNRESET' })
      expect(t.protocolOf(origin)).toBeUndefined()
    } finally {
      t.close()
      server.close()
    }
  })
})
