/**
 * End to end over real HTTP: the token app served on a socket, the real
 * authenticator (broker keys + local OIDC issuer), the real policy, the real
 * githosted client and the local githosted server. Minted tokens are then
 * used against that server with the product Client.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { createAuthenticator } from '../../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../../functions/lib/auth/replay.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../../functions/lib/policy/index.js'
import { staticSecret } from '../../../functions/lib/secrets/source.js'
import { createTokenBucketLimiter } from '../../../functions/lib/limits/rate-limiter.js'
import { createTokenApp } from '../../../functions/token/app.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../../local/oidc/index.js'
import { findSecrets } from '../../setup/secret-patterns.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'

const run = promisify(execFile)

let gh: TestGithosted
let oidc: LocalOidcIssuer
let served: ServedApp
let admin: Client
const lines: string[] = []
// Shifts the local githosted's clock (token expiry) without waiting.
let serverClockOffsetMs = 0
const legacyKey = generateBrokerKey()
const readerKey = generateBrokerKey()
// When set, the broker's ExchangeToken calls report `arrived` and wait for `open`.
let gate: { arrived: () => void; open: Promise<void> } | undefined

/** The broker's githosted client, with ExchangeToken held at the gate (to have a mint in flight). */
function gatedClient(client: Client): Client {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      const bound = (value as (...args: unknown[]) => unknown).bind(target)
      if (prop !== 'exchangeToken') return bound
      return async (...args: unknown[]) => {
        const held = gate
        if (held) {
          held.arrived()
          await held.open
        }
        return bound(...args)
      }
    },
  })
}

beforeAll(async () => {
  gh = await startTestGithosted({ now: () => new Date(Date.now() + serverClockOffsetMs) })
  oidc = await startLocalOidcIssuer()
  admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  await admin.createRepo({ name: 'other-repo' })
  const policy = loadPolicy({
    version: 1,
    issuers: { 'local-github': { preset: 'github', url: oidc.issuers.github } },
    rules: [
      {
        name: 'legacy-ci',
        match: { brokerKey: 'ci-legacy' },
        grant: { repos: ['deploy-configs'], permission: 'write', maxTtl: '2h' },
      },
      {
        name: 'dashboard',
        match: { brokerKey: 'dashboard' },
        grant: { repos: ['deploy-configs'], permission: 'read', maxTtl: '1h' },
      },
      {
        name: 'acme-app-main',
        match: { issuer: 'local-github', claims: { repository_id: '74', ref: 'refs/heads/main' } },
        grant: { repos: ['deploy-configs'], permission: 'write', maxTtl: '30m' },
      },
    ],
  })
  const logger = createLogger({
    level: 'info',
    sink: (l) => {
      lines.push(l)
      process.stdout.write(l + '\n')
    },
  })
  const app = createTokenApp({
    authenticator: createAuthenticator({
      oidc: { issuers: policy.issuers, audience: 'githosted-ci-broker' },
      brokerKeys: () => [
        { name: 'ci-legacy', sha256: hashBrokerKey(legacyKey) },
        { name: 'dashboard', sha256: hashBrokerKey(readerKey) },
      ],
      replayStore: new MemoryReplayStore(),
      logger,
    }),
    policy,
    workspaceToken: staticSecret(gh.bootstrapToken),
    githosted: (token) => gatedClient(new Client({ token, baseUrl: gh.url })),
    logger,
    // Every mint here is the same repository (one rate-limit identity); limits are tested in test/attacks.
    rateLimiter: createTokenBucketLimiter({ capacity: 100 }),
  })
  served = await serveApp(app.fetch)
})

afterAll(async () => {
  await served?.close()
  await oidc?.close()
  await gh?.close()
})

const tokenCount = async () => (await admin.listTokens({ pageSize: 1000 })).tokens.length
const as = (token: string) => new Client({ token, baseUrl: gh.url })

/** The seed workflow's exact command line, with real curl. */
async function seedCurl(key: string, body = '{"repo": "deploy-configs", "ttl": "1h"}') {
  const { stdout } = await run('curl', [
    '-s',
    '-X',
    'POST',
    '-H',
    `Authorization: Bearer ${key}`,
    `${served.url}/ci/token`,
    '-d',
    body,
  ])
  return stdout
}

async function mintV1(bearer: string, body: unknown, query = '') {
  return fetch(`${served.url}/v1/tokens${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function connectCode(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err, 'expected the call to fail').toBeDefined()
  return String((err as { connectCode?: string }).connectCode)
}

describe('token broker end to end', () => {
  it('mints with the seed curl command; the token reads and writes its repo only', async () => {
    const token = await seedCurl(legacyKey)
    expect(token).toMatch(/^gr_\S+$/)
    const repo = as(token).repo('deploy-configs')
    const file = await repo.read('environments/staging.json')
    const config = JSON.parse(file.content) as Record<string, unknown>
    const written = await repo.write('environments/staging.json', JSON.stringify({ ...config, image: 'app:e2e' }, null, 2), {
      message: 'Deploy app:e2e',
      expectedHead: file.headSha,
    })
    expect(written.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(await connectCode(as(token).repo('other-repo').read('README.md'))).toMatch(/permission_denied|not_found/)
    // A repo token cannot mint tokens.
    expect(await connectCode(as(token).listTokens())).toMatch(/permission_denied|unauthenticated/)
  })

  it('mints via /v1/tokens with an OIDC token; read-only grants cannot write', async () => {
    const jwt = await oidc.mint('github')
    const res = await mintV1(jwt, { repos: ['deploy-configs'], permission: 'write', ttl: '2h' })
    expect(res.status).toBe(201)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({ repos: ['deploy-configs'], permission: 'write', rule: 'acme-app-main', ttlSeconds: 1800, clamped: true })
    const expiresIn = Date.parse(String(body.expiresAt)) - Date.now()
    expect(expiresIn).toBeGreaterThan(1700_000)
    expect(expiresIn).toBeLessThanOrEqual(1800_000)
    // The same OIDC token cannot mint twice.
    expect((await mintV1(jwt, { repo: 'deploy-configs' })).status).toBe(401)

    const read = await mintV1(readerKey, { repo: 'deploy-configs', permission: 'read' })
    expect(read.status).toBe(201)
    const readToken = String(((await read.json()) as { token: string }).token)
    const repo = as(readToken).repo('deploy-configs')
    const file = await repo.read('environments/production.json')
    expect(await connectCode(repo.write('environments/production.json', file.content + '\n', { message: 'nope' }))).toBe(
      'permission_denied',
    )
    // Asking the read-only rule for write is refused with the reason.
    const denied = await mintV1(readerKey, { repo: 'deploy-configs', permission: 'write' })
    expect(denied.status).toBe(403)
    expect(denied.headers.get('content-type')).toBe('application/problem+json')
  })

  it('stops working after its TTL (server clock advanced)', async () => {
    const token = await seedCurl(legacyKey, '{"repo": "deploy-configs", "ttl": "90s"}')
    const repo = as(token).repo('deploy-configs')
    await repo.read('environments/staging.json')
    serverClockOffsetMs = 91_000
    try {
      expect(await connectCode(repo.read('environments/staging.json'))).toBe('unauthenticated')
    } finally {
      serverClockOffsetMs = 0
    }
  })

  it('revokes via DELETE /v1/tokens/{id}, by the minting identity only', async () => {
    const res = await mintV1(legacyKey, { repo: 'deploy-configs', permission: 'write', ttl: '10m' })
    const { token, tokenId } = (await res.json()) as { token: string; tokenId: string }
    await as(token).repo('deploy-configs').read('environments/staging.json')
    const del = (bearer: string) =>
      fetch(`${served.url}/v1/tokens/${tokenId}`, { method: 'DELETE', headers: { authorization: `Bearer ${bearer}` } })
    expect((await del(readerKey)).status).toBe(403)
    await as(token).repo('deploy-configs').read('environments/staging.json')
    expect((await del(legacyKey)).status).toBe(204)
    expect(await connectCode(as(token).repo('deploy-configs').read('environments/staging.json'))).toBe('unauthenticated')
  })

  it('dry run explains without minting and without consuming the OIDC token', async () => {
    const before = await tokenCount()
    const jwt = await oidc.mint('github', { claims: { ref: 'refs/heads/feature' } })
    const res = await mintV1(jwt, { repo: 'deploy-configs', permission: 'write' }, '?dryRun=true')
    expect(res.status).toBe(200)
    const out = (await res.json()) as { allowed: boolean; trace: Array<{ rule: string; matched: boolean; reason?: string }> }
    expect(out.allowed).toBe(false)
    expect(out.trace.find((t) => t.rule === 'acme-app-main')?.reason).toContain('ref')
    const good = await oidc.mint('github')
    const ok = await mintV1(good, { repo: 'deploy-configs', permission: 'write' }, '?dryRun=true')
    expect(((await ok.json()) as { allowed: boolean }).allowed).toBe(true)
    expect(await tokenCount()).toBe(before)
    expect((await mintV1(good, { repo: 'deploy-configs', permission: 'write' })).status).toBe(201)
  })

  it('answers bad input with a clear 4xx and mints nothing', async () => {
    const before = await tokenCount()
    const ci = async (body: string) => {
      const r = await fetch(`${served.url}/ci/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${legacyKey}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() }
    }
    for (const [body, fragment] of [
      ['{"repo": "deploy-configs", "ttl": "0"}', 'ttl'],
      ['{"repo": "deploy-configs", "ttl": "-1h"}', 'ttl'],
      ['{"repo": "deploy-configs", "ttl": "99999h"}', 'at most 24h'],
      ['{"repo": "deploy-configs", "ttl": "abc"}', 'not a duration'],
      ['{"repo": "not a slug!"}', 'not a repo slug'],
      ['{"repo": "deploy-configs"', 'not valid JSON'],
      ['{}', 'repo is required'],
      ['{"repo": "deploy-configs", "scope": "all"}', 'Unknown field "scope"'],
      ['{"repo": "other-repo"}', 'FORBIDDEN'],
    ]) {
      const r = await ci(body!)
      expect(r.status, body).toBeGreaterThanOrEqual(400)
      expect(r.status, body).toBeLessThan(500)
      expect(r.type).toBe('text/plain; charset=utf-8')
      expect(r.text).toContain(fragment!)
    }
    const v1Problems: Array<[unknown, string]> = [
      [{ repos: 'deploy-configs' }, 'repos'],
      [{ repo: 'deploy-configs', ttlSeconds: -5 }, 'ttlSeconds'],
      [{ repo: 'deploy-configs', permission: 'owner' }, 'permission'],
      [{ repo: 'deploy-configs', extra: 1 }, 'extra'],
    ]
    for (const [body, field] of v1Problems) {
      const r = await mintV1(legacyKey, body)
      expect(r.status).toBe(400)
      expect(((await r.json()) as { field: string }).field).toBe(field)
    }
    const huge = await fetch(`${served.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${legacyKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'deploy-configs', pad: 'x'.repeat(100_000) }),
    })
    expect(huge.status).toBe(413)
    // Chunked (no content-length) bodies are counted too.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)))
        controller.close()
      },
    })
    const chunked = await fetch(`${served.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${legacyKey}`, 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    expect((await fetch(`${served.url}/v1/tokens`, { method: 'GET' })).status).toBe(405)
    expect((await fetch(`${served.url}/nope`)).status).toBe(404)
    const noAuth = await seedCurl('gbk_' + 'A'.repeat(43))
    expect(noAuth).toMatch(/^error: broker key is not valid.*BROKER_KEY_INVALID/)
    expect(await tokenCount()).toBe(before)
  })

  it('an OIDC token is used up only by a mint: retry after githosted failed, replay refused', async () => {
    const before = await tokenCount()
    const jwt = await oidc.mint('github')
    gh.setFaults({ errors: { ExchangeToken: { code: 'unavailable', rate: 1 } } })
    try {
      const failed = await mintV1(jwt, { repo: 'deploy-configs' })
      expect(failed.status).toBe(502)
      expect(((await failed.json()) as { upstreamCode: string }).upstreamCode).toBe('unavailable')
    } finally {
      gh.setFaults({})
    }
    expect(await tokenCount()).toBe(before)
    // The same ID token mints once githosted is back...
    expect((await mintV1(jwt, { repo: 'deploy-configs' })).status).toBe(201)
    // ...and then it is spent.
    const replay = await mintV1(jwt, { repo: 'deploy-configs' })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { code: string }).code).toBe('OIDC_REPLAYED')
    expect(await tokenCount()).toBe(before + 1)
  })

  it('a policy denial does not burn the OIDC token', async () => {
    const jwt = await oidc.mint('github')
    expect((await mintV1(jwt, { repo: 'other-repo' })).status).toBe(403)
    expect((await mintV1(jwt, { repo: 'deploy-configs' }, '?dryRun=true')).status).toBe(200)
    expect((await mintV1(jwt, { repo: 'deploy-configs' })).status).toBe(201)
  })

  it('refuses a concurrent duplicate while the first mint is in flight, even if that one then fails', async () => {
    const jwt = await oidc.mint('github')
    let arrived!: () => void
    const atGate = new Promise<void>((r) => (arrived = r))
    let open!: () => void
    gate = { arrived, open: new Promise<void>((r) => (open = r)) }
    let first: Promise<Response> | undefined
    try {
      first = mintV1(jwt, { repo: 'deploy-configs' })
      await atGate
      // The first request holds the claim and is inside githosted.
      const dup = await mintV1(jwt, { repo: 'deploy-configs' })
      expect(dup.status).toBe(401)
      expect(((await dup.json()) as { code: string }).code).toBe('OIDC_REPLAYED')
      gh.setFaults({ errors: { ExchangeToken: { code: 'unavailable', rate: 1 } } })
    } finally {
      gate = undefined
      open()
    }
    try {
      expect((await first).status).toBe(502)
    } finally {
      gh.setFaults({})
    }
    // The failed first request gave the token back; the duplicate did not consume it.
    expect((await mintV1(jwt, { repo: 'deploy-configs' })).status).toBe(201)
  })

  it('audited every decision without leaking a secret', () => {
    const audits = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.audit === 1)
    expect(audits.filter((a) => a.outcome === 'allowed' && a.event === 'token.mint').length).toBeGreaterThanOrEqual(5)
    expect(audits.some((a) => a.outcome === 'denied' && a.code === 'FORBIDDEN')).toBe(true)
    for (const a of audits.filter((x) => x.event === 'token.mint' && x.outcome === 'allowed')) {
      expect(a.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/)
    }
    expect(findSecrets(lines.join('\n'))).toEqual([])
  })
})
