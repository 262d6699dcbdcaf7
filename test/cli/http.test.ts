import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { HttpError, NetworkError, UsageError } from '../../cli/errors.js'
import { call, callJson, describeNetworkFailure, parseBaseUrl } from '../../cli/http.js'

const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause })
const coded = (code: string, message = code) => Object.assign(new Error(message), { code })

describe('parseBaseUrl', () => {
  it('asks for a scheme when there is none, and trims trailing slashes', () => {
    expect(() => parseBaseUrl('--broker', 'broker.example.com')).toThrow(UsageError)
    expect(() => parseBaseUrl('--broker', 'broker.example.com')).toThrow('"broker.example.com" must start with https:// (e.g. https://broker.example.com)')
    expect(() => parseBaseUrl('--broker', 'ftp://broker.example.com')).toThrow('must start with https://')
    expect(() => parseBaseUrl('--broker', undefined)).toThrow('--broker is required')
    expect(parseBaseUrl('--broker', 'https://broker.example.com/')).toBe('https://broker.example.com')
  })
})

describe('describeNetworkFailure', () => {
  const url = 'https://broker.example.com/v1/deploys'
  it.each([
    ['dns', coded('ENOTFOUND', 'getaddrinfo ENOTFOUND broker.example.com'), 'cannot resolve host broker.example.com'],
    ['dns', coded('EAI_AGAIN'), 'DNS lookup failed'],
    ['refused', Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: 'ECONNREFUSED' }), 'connection refused by broker.example.com'],
    ['tls', coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'TLS handshake with broker.example.com failed'],
    ['tls', coded('CERT_HAS_EXPIRED'), 'check the certificate'],
    ['tls', coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'TLS handshake'],
    ['timeout', coded('UND_ERR_CONNECT_TIMEOUT'), 'no answer from broker.example.com in time'],
    ['reset', coded('ECONNRESET'), 'was closed before an answer'],
  ] as const)('%s: %s', (failure, cause, message) => {
    const err = describeNetworkFailure(url, fetchFailed(cause))
    expect(err).toBeInstanceOf(NetworkError)
    expect(err.failure).toBe(failure)
    expect(err.message).toContain(message)
    expect(err.message).toContain(url)
    expect(err.retryable).toBe(failure === 'timeout' || failure === 'reset')
  })
})

describe('call', () => {
  it('retries 5xx with the same request, returns other statuses, and turns problem+json into an HttpError', async () => {
    let n = 0
    const server = createServer((req, res) => {
      n += 1
      if (n === 1) return void res.writeHead(503).end('busy')
      res.writeHead(403, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: 'FORBIDDEN', detail: 'not for you' }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const sleeps: number[] = []
      const res = await call(`${base}/x`, { sleep: async (ms) => void sleeps.push(ms) })
      expect([res.status, n, sleeps.length]).toEqual([403, 2, 1])
      const err = await callJson(`${base}/y`, [200], { method: 'POST', body: {}, sleep: async () => {} }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(HttpError)
      expect((err as HttpError).message).toBe(`POST ${base}/y: HTTP 403 FORBIDDEN: not for you`)
      expect((err as HttpError).code).toBe('FORBIDDEN')
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})
