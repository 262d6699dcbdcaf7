import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, DependencyUnavailableError } from '../../../../functions/lib/errors.js'
import { extensionFetcher } from '../../../../functions/lib/secrets/extension.js'
import { createCachedSecret } from '../../../../functions/lib/secrets/source.js'
import { startFakeSecretsExtension, type FakeSecretsExtension } from '../../../helpers/fake-secrets-extension.js'

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/workspace-token-AbCdEf'
const KEYS_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/keys+with=odd&chars-GhIjKl'

let ext: FakeSecretsExtension

beforeAll(async () => {
  ext = await startFakeSecretsExtension({ [ARN]: '  value-one\n', [KEYS_ARN]: JSON.stringify({ token: 'inner' }) })
})
afterAll(async () => {
  await ext.close()
})
afterEach(() => {
  ext.calls.length = 0
  ext.refused = 0
  ext.failWith = undefined
})

const envFor = (port = ext.port, token = ext.sessionToken) => ({
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
  AWS_SESSION_TOKEN: token,
})

async function failure(p: Promise<unknown>): Promise<Error & { status?: number }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(Error)
  return err as Error & { status?: number }
}

describe('extensionFetcher', () => {
  it('reads SecretString with the session token header and the ARN as secretId, trimmed', async () => {
    expect(await extensionFetcher(ARN, { env: envFor() })()).toBe('value-one')
    expect(ext.calls).toEqual([ARN])
    expect(ext.refused).toBe(0)
  })

  it('encodes secret ids with reserved characters and returns a JSON key when asked', async () => {
    expect(await extensionFetcher(KEYS_ARN, { env: envFor(), jsonKey: 'token' })()).toBe('inner')
    expect(ext.calls).toEqual([KEYS_ARN])
    const err = await failure(extensionFetcher(KEYS_ARN, { env: envFor(), jsonKey: 'missing' })())
    expect(err).toBeInstanceOf(ConfigError)
  })

  it('costs one extension call per cache period under concurrency', async () => {
    let t = 0
    const source = createCachedSecret(extensionFetcher(ARN, { env: envFor() }), { ttlMs: 300_000, clock: () => new Date(t) })
    const values = await Promise.all(Array.from({ length: 30 }, () => source.get()))
    expect(new Set(values)).toEqual(new Set(['value-one']))
    expect(ext.calls).toHaveLength(1)
    t = 300_001
    await source.get()
    expect(ext.calls).toHaveLength(2)
  })

  it('reads the port and the token from the env on each fetch (default port 2773 when unset)', async () => {
    const env: Record<string, string | undefined> = { AWS_SESSION_TOKEN: ext.sessionToken }
    const fetcher = extensionFetcher(ARN, { env, fetch: async (url) => Response.json({ SecretString: String(url) }) })
    expect(await fetcher()).toBe(`http://localhost:2773/secretsmanager/get?secretId=${encodeURIComponent(ARN)}`)
    env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = String(ext.port)
    expect(await extensionFetcher(ARN, { env })()).toBe('value-one')
  })

  it('refuses to call without AWS_SESSION_TOKEN (a ConfigError, no request)', async () => {
    const err = await failure(extensionFetcher(ARN, { env: { ...envFor(), AWS_SESSION_TOKEN: undefined }, label: 'workspace token' })())
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toContain('AWS_SESSION_TOKEN')
    expect(ext.calls).toEqual([])
    expect(ext.refused).toBe(0)
  })

  it('maps a refused token header (400) to a 500 ConfigError', async () => {
    const err = await failure(extensionFetcher(ARN, { env: envFor(ext.port, 'wrong-token'), label: 'workspace token' })())
    expect(ext.refused).toBe(1)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.status).toBe(500)
    expect(err.message).toContain('HTTP 400')
    expect(err.message).not.toContain('wrong-token')
  })

  it('maps an unknown secret to a ConfigError naming the label and AWS error, never the ARN', async () => {
    const missing = `${ARN}-gone`
    const err = await failure(extensionFetcher(missing, { env: envFor(), label: 'broker keys' })())
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toContain('broker keys')
    expect(err.message).toContain('ResourceNotFoundException')
    expect(err.message).not.toContain('arn:aws')
    expect(err.message).not.toContain('workspace-token')
  })

  it('maps 403 and 404 to ConfigError, and 5xx, 429 and throttling to DependencyUnavailableError', async () => {
    const cases: Array<[number, string, typeof ConfigError | typeof DependencyUnavailableError]> = [
      [403, 'AccessDeniedException', ConfigError],
      [404, 'NotFound', ConfigError],
      [500, 'InternalServiceError', DependencyUnavailableError],
      [502, 'BadGateway', DependencyUnavailableError],
      [429, 'TooManyRequests', DependencyUnavailableError],
      [400, 'ThrottlingException', DependencyUnavailableError],
    ]
    for (const [status, name, type] of cases) {
      ext.failWith = { status, name }
      const err = await failure(extensionFetcher(ARN, { env: envFor(), label: 'workspace token' })())
      expect(err, `${status} ${name}`).toBeInstanceOf(type)
      expect(err.message).toContain(`HTTP ${status}`)
      expect(err.message).not.toContain('arn:aws')
      expect(err.message).not.toContain('value-one')
    }
  })

  it('maps a connection failure to a 503 without the address or the ARN', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const err = await failure(extensionFetcher(ARN, { env: envFor(port), label: 'workspace token' })())
    expect(err).toBeInstanceOf(DependencyUnavailableError)
    expect(err.status).toBe(503)
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.message).not.toContain('arn:aws')
    expect(err.message).not.toContain(String(port))
  })

  describe('against a misbehaving extension', () => {
    let server: Server
    let port: number
    let answer: (res: import('node:http').ServerResponse) => void
    beforeAll(async () => {
      server = createServer((_req, res) => answer(res))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      port = (server.address() as AddressInfo).port
    })
    afterAll(async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    })

    it('maps a hung call to a 503 once its timeout passes', async () => {
      answer = () => {} // never answers
      const err = await failure(extensionFetcher(ARN, { env: envFor(port), timeoutMs: 50 })())
      expect(err).toBeInstanceOf(DependencyUnavailableError)
      expect(err.message).toContain('TimeoutError')
    })

    it('refuses an answer over 1 MiB as unavailable, without reading it whole', async () => {
      answer = (res) => res.end(JSON.stringify({ SecretString: 'x'.repeat(1024 * 1024) }))
      const err = await failure(extensionFetcher(ARN, { env: envFor(port), label: 'workspace token' })())
      expect(err).toBeInstanceOf(DependencyUnavailableError)
      expect(err.message).toContain('ResponseTooLargeError')
      expect(err.message).not.toContain('arn:aws')
    })

    it('maps a 200 that is not JSON to a 503, and one without SecretString to a ConfigError', async () => {
      answer = (res) => res.end('<html>')
      expect(await failure(extensionFetcher(ARN, { env: envFor(port) })())).toBeInstanceOf(DependencyUnavailableError)
      answer = (res) => res.end(JSON.stringify({ ARN, SecretBinary: 'AAEC' }))
      const err = await failure(extensionFetcher(ARN, { env: envFor(port), label: 'workspace token' })())
      expect(err).toBeInstanceOf(ConfigError)
      expect(err.message).toContain('no SecretString')
    })
  })

  it('rejects a malformed PARAMETERS_SECRETS_EXTENSION_HTTP_PORT as a ConfigError', async () => {
    const env = { AWS_SESSION_TOKEN: ext.sessionToken, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '27x3' }
    const err = await failure(extensionFetcher(ARN, { env })())
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toContain('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT')
    expect(ext.calls).toEqual([])
  })
})
