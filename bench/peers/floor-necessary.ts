/**
 * Floor (b), the "necessary work" floor for cold start: the hello-world Hono
 * app of hello-hono.ts plus what no token broker can avoid on its first
 * request — verify one RS256 JWT (jose) against a JWK held in memory (no
 * discovery, no JWKS fetch) and make one keep-alive HTTP request to githosted
 * with node:http (the ExchangeToken call a mint makes, its JSON answer
 * parsed). Built by the same bundler as the functions and served the same
 * event, so a function ÷ this floor is what the broker adds on top of the
 * physically necessary. The bench world passes the issuer's public JWK, the
 * issuer URL and a workspace token in the environment (bench only).
 */
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import { importJWK, jwtVerify, type JWK } from 'jose'
import { Agent, request } from 'node:http'

const agent = new Agent({ keepAlive: true })

function exchange(url: URL, token: string, subject: string): Promise<unknown> {
  const body = JSON.stringify({ repoAllowlist: ['deploy-configs'], permission: 'PERMISSION_READ', ttlSeconds: 600, subject })
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/githosted.v1.ApiService/ExchangeToken',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'connect-protocol-version': '1',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
            if (res.statusCode !== 200) reject(new Error(`githosted answered ${res.statusCode}`))
            else resolve(json)
          } catch (err) {
            reject(err)
          }
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const app = new Hono()
app.all('*', async (c) => {
  const jwk = JSON.parse(process.env.BENCH_FLOOR_JWK ?? '{}') as JWK
  const issuer = (JSON.parse(process.env.BENCH_OIDC_ISSUER_URLS ?? '{}') as { github?: string }).github
  const jwt = (c.req.header('authorization') ?? '').replace(/^Bearer /, '')
  const { payload } = await jwtVerify(jwt, await importJWK(jwk, 'RS256'), {
    algorithms: ['RS256'],
    ...(issuer ? { issuer } : {}),
    audience: process.env.OIDC_AUDIENCE ?? '',
  })
  const minted = await exchange(new URL(process.env.GITHOSTED_URL ?? ''), process.env.BENCH_FLOOR_GITHOSTED_TOKEN ?? '', String(payload.sub))
  return c.json({ ok: minted !== undefined }, 201)
})

export const handler = handle(app)
