import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResponseTooLargeError } from '../../../../functions/lib/net/capped-body.js'
import { JwksUnavailableError } from '../../../../functions/lib/auth/errors.js'
import { issuerKeys } from '../../../../functions/lib/auth/jwks.js'
import type { IssuerConfig } from '../../../../functions/lib/auth/presets.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../../../local/oidc/index.js'
import { AUDIENCE } from './support.js'

let issuer: LocalOidcIssuer
let server: Server
let base: string
let answer: (path: string, res: ServerResponse) => void
const paths: string[] = []

beforeAll(async () => {
  issuer = await startLocalOidcIssuer({ audience: AUDIENCE })
  server = createServer((req, res) => {
    paths.push(req.url ?? '')
    answer(req.url ?? '', res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await Promise.all([issuer.close(), new Promise<void>((r) => server.close(() => r()))])
})

const config = (url: string, jwksUri?: string): IssuerConfig => ({
  name: 'x',
  preset: 'github',
  url,
  ...(jwksUri ? { jwksUri } : {}),
})

describe('issuerKeys without an injected fetch (node:http GET)', () => {
  it('discovers and loads a real issuer without a fetch, and uses a fetch only when one is injected', async () => {
    const injected: string[] = []
    const spy: typeof fetch = (input, init) => {
      injected.push(String(input))
      return globalThis.fetch(input, init)
    }
    for (const fetchImpl of [undefined, spy]) {
      const keys = await issuerKeys(config(issuer.issuers.github), new Map(), fetchImpl)
      expect(keys.jwksUri).toBe(`${issuer.issuers.github}/.well-known/jwks`)
      const token = await issuer.mint('github', { alg: 'ES256' })
      const { payload } = await jwtVerify(token, keys.getKey, { audience: AUDIENCE })
      expect(payload.iss).toBe(issuer.issuers.github)
      // The node:http path must not go through the injected one; the injected one sees both reads.
      expect(injected.length).toBe(fetchImpl === undefined ? 0 : 2)
    }
  })

  it('refuses an oversized discovery document and JWKS (100 KiB cap) as unavailable', async () => {
    const big = 'x'.repeat(101 * 1024)
    answer = (path, res) => {
      res.setHeader('content-type', 'application/json')
      if (path.endsWith('/openid-configuration')) res.end(JSON.stringify({ issuer: base, pad: big }))
      else res.end('{}')
    }
    const err = await issuerKeys(config(base), new Map(), undefined).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(JwksUnavailableError)
    expect((err as Error).message).toContain('larger than 102400 bytes')

    // The issuer's real keys, padded: only the cap stands between them and a verified token.
    const real = (await (await fetch(`${issuer.issuers.github}/.well-known/jwks`)).json()) as object
    answer = (_path, res) => res.end(JSON.stringify({ ...real, pad: big }))
    const keys = await issuerKeys(config(base, `${base}/keys`), new Map(), undefined)
    const token = await issuer.mint('github', { alg: 'ES256' })
    await expect(jwtVerify(token, keys.getKey)).rejects.toBeInstanceOf(ResponseTooLargeError)
    expect(paths.at(-1)).toBe('/keys')
  })

  it('does not follow a redirected discovery document', async () => {
    paths.length = 0
    answer = (_path, res) => {
      res.writeHead(302, { location: `${issuer.issuers.github}/.well-known/openid-configuration` })
      res.end()
    }
    const err = await issuerKeys(config(base), new Map(), undefined).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(JwksUnavailableError)
    expect((err as Error).message).toContain('HTTP 302')
    expect(paths).toEqual(['/.well-known/openid-configuration'])
  })
})
