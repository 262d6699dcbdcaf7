import { createHash } from 'node:crypto'
import { beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { ConfigError } from '../../../functions/lib/errors.js'
import { createTokenBucketLimiter } from '../../../functions/lib/limits/rate-limiter.js'
import { createCachedSecret, staticSecret } from '../../../functions/lib/secrets/source.js'
import { createTokenApp, type TokenAppDeps } from '../../../functions/token/app.js'
import { findSecrets } from '../../setup/secret-patterns.js'
import { fakeAuthenticator, fakeGithosted, fakePolicy, keyIdentity, oidcIdentity, type FakeGithosted } from './fakes.js'

// Run-time credentials: never committed, never printed.
const WORKSPACE = `gw_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}workspace`
const KEY = 'key-legacy'
const OTHER_KEY = 'key-other'
const OIDC = 'oidc-jwt-1'
const OIDC_2 = 'oidc-jwt-2'

let gh: FakeGithosted
let lines: string[]
let auth: ReturnType<typeof fakeAuthenticator>

const oidc = oidcIdentity('acme/app', '42')

function setup(overrides: Partial<TokenAppDeps> = {}) {
  gh = fakeGithosted(WORKSPACE)
  lines = []
  auth = fakeAuthenticator({
    [KEY]: keyIdentity('ci-legacy'),
    [OTHER_KEY]: keyIdentity('other'),
    [OIDC]: oidc,
    [OIDC_2]: oidc,
  })
  let n = 0
  const deps: TokenAppDeps = {
    authenticator: auth.authenticator,
    policy: fakePolicy([
      { name: 'legacy-ci', subject: 'key:ci-legacy', grant: { repos: ['deploy-configs'], maxTtlSeconds: 7200 } },
      { name: 'other', subject: 'key:other', grant: { repos: ['deploy-configs'], permission: 'read' } },
      { name: 'acme-app', subject: oidc.subject, grant: { repos: ['deploy-configs', 'app-config'], maxTtlSeconds: 1800 } },
    ]),
    workspaceToken: staticSecret(WORKSPACE),
    githosted: gh.factory,
    logger: createLogger({
      level: 'info',
      sink: (l) => {
        lines.push(l)
        process.stdout.write(l + '\n')
      },
    }),
    requestId: () => `req-${++n}`,
    ...overrides,
  }
  return createTokenApp(deps, { maxBodyBytes: 1024 })
}

const audits = () => lines.map((l) => JSON.parse(l)).filter((r) => r.audit === 1)
const sha16 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16)

function ciToken(app: ReturnType<typeof setup>, body: string, bearer = KEY, type = 'application/x-www-form-urlencoded') {
  return app.request('/ci/token', {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': type },
  })
}

function v1(app: ReturnType<typeof setup>, body: unknown, bearer = OIDC, query = '') {
  return app.request(`/v1/tokens${query}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
  })
}

describe('POST /ci/token (seed-compatible)', () => {
  let app: ReturnType<typeof setup>
  beforeEach(() => {
    app = setup()
  })

  it("answers the bare token for curl's form-labelled JSON body", async () => {
    const res = await ciToken(app, '{"repo": "deploy-configs", "ttl": "1h"}')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const token = await res.text()
    expect(token).toMatch(/^gr_[A-Za-z0-9_-]+$/) // no trailing newline
    const record = [...gh.records.values()][0]!
    expect(record.secret).toBe(token)
    expect(record).toMatchObject({ permission: 'write', repoAllowlist: ['deploy-configs'], subject: 'key:ci-legacy' })
    expect(res.headers.get('x-token-id')).toBe(record.id)
    expect(gh.calls).toEqual(['exchange'])

    const [a] = audits()
    expect(audits()).toHaveLength(1)
    expect(a).toMatchObject({
      event: 'token.mint',
      outcome: 'allowed',
      code: 'OK',
      rule: 'legacy-ci',
      repos: ['deploy-configs'],
      permission: 'write',
      ttlSeconds: 3600,
      tokenId: record.id,
      tokenFingerprint: sha16(token),
      method: 'exchange',
      requestId: 'req-1',
      identity: { kind: 'broker-key', subject: 'key:ci-legacy' },
    })
    expect(lines.join('\n')).not.toContain(token)
    expect(lines.join('\n')).not.toContain(WORKSPACE)
    expect(findSecrets(lines.join('\n'))).toEqual([])
  })

  it('accepts application/json and a real form body', async () => {
    expect((await ciToken(app, '{"repo":"deploy-configs"}', KEY, 'application/json')).status).toBe(200)
    const form = await ciToken(app, 'repo=deploy-configs&ttl=15m&permission=read')
    expect(form.status).toBe(200)
    const rec = [...gh.records.values()][1]!
    expect(rec.permission).toBe('read')
    expect(rec.expiresAt!.getTime() - rec.createdAt!.getTime()).toBe(15 * 60 * 1000)
  })

  it.each([
    ['{"repo": "deploy-configs", "ttl": "0"}', 400, 'ttl'],
    ['{"repo": "deploy-configs", "ttl": "-1h"}', 400, 'ttl'],
    ['{"repo": "deploy-configs", "ttl": "99999h"}', 400, 'at most 24h'],
    ['{"repo": "deploy-configs", "ttl": "abc"}', 400, 'not a duration'],
    ['{"repo": "Deploy Configs"}', 400, 'not a repo slug'],
    ['{"repo": "../etc"}', 400, 'not a repo slug'],
    ['{"ttl": "1h"}', 400, 'repo is required'],
    ['{"repo": "deploy-configs", "permision": "read"}', 400, 'Unknown field "permision"'],
    ['{"repo": ', 400, 'not valid JSON'],
    ['{"repo": "app-config"}', 403, 'no rule allows this'],
  ])('refuses %s with a one-line plain-text reason', async (body, status, fragment) => {
    const res = await ciToken(app, body)
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    const text = await res.text()
    expect(text).toContain(fragment)
    expect(text.trimEnd().split('\n')).toHaveLength(1)
    expect(gh.records.size).toBe(0)
  })

  it('refuses a missing or unknown credential with 401 and audits the denial', async () => {
    const res = await app.request('/ci/token', { method: 'POST', body: '{"repo":"deploy-configs"}' })
    expect(res.status).toBe(401)
    expect(await res.text()).toMatch(/^error: Missing bearer credential\. \(UNAUTHENTICATED, request req-1\)\n$/)
    expect((await ciToken(app, '{"repo":"deploy-configs"}', 'nope')).status).toBe(401)
    expect(audits().map((a) => [a.outcome, a.code])).toEqual([
      ['denied', 'UNAUTHENTICATED'],
      ['denied', 'UNAUTHENTICATED'],
    ])
    expect(gh.records.size).toBe(0)
  })

  it('answers 413 for a huge body and 405 for GET, in plain text', async () => {
    const big = await ciToken(app, JSON.stringify({ repo: 'deploy-configs', pad: 'x'.repeat(4096) }))
    expect(big.status).toBe(413)
    expect(await big.text()).toContain('PAYLOAD_TOO_LARGE')
    const get = await app.request('/ci/token')
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(get.headers.get('content-type')).toBe('text/plain; charset=utf-8')
  })
})

describe('POST /v1/tokens', () => {
  let app: ReturnType<typeof setup>
  beforeEach(() => {
    app = setup()
  })

  it('mints and describes the token; permission defaults to read', async () => {
    const res = await v1(app, { repos: ['deploy-configs', 'app-config'], ttl: '10m' })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await res.json()
    const rec = gh.records.get(body.tokenId)!
    expect(body).toEqual({
      token: rec.secret,
      tokenId: rec.id,
      expiresAt: rec.expiresAt!.toISOString(),
      repos: ['deploy-configs', 'app-config'],
      permission: 'read',
      rule: 'acme-app',
      ttlSeconds: 600,
    })
    expect(rec.subject).toBe(oidc.subject)
    expect(auth.purposes).toEqual(['mint'])
  })

  it('clamps a TTL above the grant and says so', async () => {
    const res = await v1(app, { repo: 'deploy-configs', permission: 'write', ttlSeconds: 7200 })
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body).toMatchObject({ ttlSeconds: 1800, clamped: true, permission: 'write' })
    expect(body.note).toContain('at most 30m')
    expect(audits()[0]).toMatchObject({ ttlSeconds: 1800, clamped: true })
  })

  it('rejects a replayed OIDC token (the authenticator consumes it)', async () => {
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(201)
    const again = await v1(app, { repo: 'deploy-configs' })
    expect(again.status).toBe(401)
    expect(again.headers.get('content-type')).toBe('application/problem+json')
  })

  it.each([
    [{ repos: [], ttl: '1h' }, 'repos'],
    [{ repo: 'deploy-configs', repos: ['x'] }, 'repos'],
    [{ repo: 'deploy-configs', ttl: '1h', ttlSeconds: 60 }, 'ttl'],
    [{ repo: 'deploy-configs', permission: 'admin' }, 'permission'],
    [{ repo: 'deploy-configs', extra: true }, 'extra'],
    [{ repos: ['deploy-configs', 'UPPER'] }, 'repos[1]'],
    [{ repo: 'deploy-configs', ttlSeconds: 0 }, 'ttlSeconds'],
  ])('rejects %j naming field %s, without consuming the OIDC token', async (body, field) => {
    const res = await v1(app, body)
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const p = await res.json()
    expect(p).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field, requestId: 'req-1' })
    expect(auth.consumed.size).toBe(0)
    expect(gh.records.size).toBe(0)
  })

  it('dry run explains the decision without minting or consuming the token', async () => {
    const ok = await v1(app, { repo: 'deploy-configs', permission: 'write', ttl: '1h' }, OIDC, '?dryRun=true')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({
      dryRun: true,
      allowed: true,
      rule: 'acme-app',
      ttlSeconds: 1800,
      clamped: true,
      // Only the rules meant for this caller: not the broker-key rules.
      trace: [{ rule: 'acme-app', matched: true }],
    })
    const denied = await v1(app, { repo: 'secret-repo' }, OIDC, '?dryRun=true')
    expect(await denied.json()).toMatchObject({ allowed: false, trace: [{ rule: 'acme-app', matched: false }] })
    expect(gh.calls).toEqual([])
    expect(auth.purposes).toEqual(['read', 'read'])
    expect(auth.consumed.size).toBe(0)
    expect(audits().map((a) => [a.event, a.wouldAllow])).toEqual([
      ['token.explain', true],
      ['token.explain', false],
    ])
    // The token still works for a real mint afterwards.
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(201)
  })

  it('maps an upstream failure to 502 with the Connect code only', async () => {
    gh.failNext = 'internal'
    const res = await v1(app, { repo: 'deploy-configs' })
    expect(res.status).toBe(502)
    const p = await res.json()
    expect(p).toMatchObject({ code: 'UPSTREAM_FAILED', upstreamCode: 'internal' })
    expect(JSON.stringify(p)).not.toContain('upstream body')
    expect(audits()[0]).toMatchObject({ outcome: 'error', code: 'UPSTREAM_FAILED' })
  })

  it('answers a policy denial with 403 problem and an actionable reason', async () => {
    const res = await v1(app, { repo: 'deploy-configs', permission: 'write' }, OTHER_KEY)
    expect(res.status).toBe(403)
    const p = await res.json()
    expect(p.code).toBe('FORBIDDEN')
    expect(p.detail).toContain('write requested, rule grants read')
    expect(audits()[0]).toMatchObject({ outcome: 'denied', code: 'FORBIDDEN', repos: ['deploy-configs'] })
  })
})

describe('DELETE /v1/tokens/:id', () => {
  it('lets only the minting identity revoke', async () => {
    const app = setup()
    const { tokenId } = await (await v1(app, { repo: 'deploy-configs' }, KEY)).json()

    const other = await app.request(`/v1/tokens/${tokenId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${OTHER_KEY}` },
    })
    expect(other.status).toBe(403)
    expect(gh.records.get(tokenId)!.revokedAt).toBeUndefined()

    const mine = await app.request(`/v1/tokens/${tokenId}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })
    expect(mine.status).toBe(204)
    expect(gh.records.get(tokenId)!.revokedAt).toBeInstanceOf(Date)

    const again = await app.request(`/v1/tokens/${tokenId}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })
    expect(again.status).toBe(404)
    expect((await again.json()).detail).toContain('no live record')
    expect(audits().filter((a) => a.event === 'token.revoke').map((a) => a.outcome)).toEqual(['denied', 'allowed', 'denied'])
  })

  it('accepts a fresh OIDC token of the same job as the owner', async () => {
    const app = setup()
    const { tokenId } = await (await v1(app, { repo: 'deploy-configs' }, OIDC)).json()
    const res = await app.request(`/v1/tokens/${tokenId}`, { method: 'DELETE', headers: { authorization: `Bearer ${OIDC_2}` } })
    expect(res.status).toBe(204)
    expect(auth.purposes).toEqual(['mint', 'read'])
  })

  it('rejects a malformed id before authenticating', async () => {
    const app = setup()
    const res = await app.request('/v1/tokens/bad%20id', { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } })
    expect(res.status).toBe(400)
    expect((await res.json()).field).toBe('id')
    expect(auth.purposes).toEqual([])
  })
})

describe('minting details', () => {
  it('refetches a rotated workspace token once and retries', async () => {
    let fetches = 0
    const rotated = `gw_${Date.now().toString(36)}rotatedworkspacetoken`
    const source = createCachedSecret(async () => (++fetches === 1 ? WORKSPACE : rotated))
    const app = setup({ workspaceToken: source })
    gh.workspaceTokens.clear()
    gh.workspaceTokens.add(rotated)
    const res = await ciToken(app, '{"repo":"deploy-configs"}')
    expect(res.status).toBe(200)
    expect(fetches).toBe(2)
    expect(gh.calls).toEqual(['exchange', 'exchange'])
  })

  it('gives up after one refetch when the workspace token stays invalid', async () => {
    const app = setup({ workspaceToken: createCachedSecret(async () => 'gw_wrong') })
    const res = await v1(app, { repo: 'deploy-configs' }, KEY)
    expect(res.status).toBe(502)
    expect((await res.json()).upstreamCode).toBe('unauthenticated')
    expect(gh.calls).toEqual(['exchange', 'exchange'])
  })

  it('falls back to CreateToken where ExchangeToken is unimplemented, and remembers it', async () => {
    const app = setup()
    gh.exchangeUnimplemented = true
    const res = await v1(app, { repo: 'deploy-configs', ttl: '45m' }, KEY)
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.ttlSeconds).toBe(3600)
    expect(body.note).toContain('whole hours')
    const rec = gh.records.get(body.tokenId)!
    expect(rec.name).toMatch(/^ci-key-ci-legacy-\d+$/)
    expect(rec.repoAllowlist).toEqual(['deploy-configs'])
    expect(audits()[0]).toMatchObject({ method: 'create', ttlSeconds: 3600 })
    await v1(app, { repo: 'deploy-configs' }, KEY)
    expect(gh.calls).toEqual(['exchange', 'create', 'create'])
  })

  it('denies the fallback when whole hours would exceed the policy maximum', async () => {
    const app = setup()
    gh.exchangeUnimplemented = true
    // acme-app allows 30m; CreateToken can only give 1h.
    const res = await v1(app, { repo: 'deploy-configs', ttl: '15m' })
    expect(res.status).toBe(403)
    expect((await res.json()).detail).toContain('whole hours')
    expect(gh.records.size).toBe(0)
  })

  it('rate-limits per identity with Retry-After', async () => {
    let t = 0
    const app = setup({ rateLimiter: createTokenBucketLimiter({ capacity: 2, refillPerMinute: 6, clock: () => new Date(t) }) })
    expect((await ciToken(app, '{"repo":"deploy-configs"}')).status).toBe(200)
    expect((await ciToken(app, '{"repo":"deploy-configs"}')).status).toBe(200)
    const limited = await ciToken(app, '{"repo":"deploy-configs"}')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('10')
    const json = await v1(app, { repo: 'deploy-configs' }, KEY)
    expect(json.status).toBe(429)
    expect(json.headers.get('retry-after')).toBe('10')
    // Another identity is not affected.
    expect((await v1(app, { repo: 'deploy-configs' }, OTHER_KEY)).status).toBe(201)
    t += 10_000
    expect((await ciToken(app, '{"repo":"deploy-configs"}')).status).toBe(200)
  })
})

describe('routing and health', () => {
  it('serves /healthz without touching secrets', async () => {
    let touched = false
    const app = setup({
      workspaceToken: {
        get: async () => {
          touched = true
          return WORKSPACE
        },
        invalidate: () => {},
      },
    })
    const res = await app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(touched).toBe(false)
  })

  it('answers unknown routes with a 404 problem and wrong methods with 405', async () => {
    const app = setup()
    const res = await app.request('/v2/nothing')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).code).toBe('NOT_FOUND')
    const put = await app.request('/v1/tokens', { method: 'PUT' })
    expect(put.status).toBe(405)
    expect((await put.json()).code).toBe('METHOD_NOT_ALLOWED')
  })

  it('reports a configuration failure as a 500 problem naming the cause, lazily', async () => {
    let calls = 0
    const app = createTokenApp(() => {
      calls++
      throw new ConfigError('Missing environment variable WORKSPACE_TOKEN_SECRET_ARN.')
    })
    expect((await app.request('/healthz')).status).toBe(200)
    expect(calls).toBe(0)
    const res = await app.request('/v1/tokens', { method: 'POST', body: '{}' })
    expect(res.status).toBe(500)
    expect(await res.json()).toMatchObject({ code: 'CONFIG_INVALID', detail: expect.stringContaining('WORKSPACE_TOKEN_SECRET_ARN') })
    const ci = await app.request('/ci/token', { method: 'POST', body: '{}' })
    expect(await ci.text()).toContain('WORKSPACE_TOKEN_SECRET_ARN')
    expect(calls).toBe(2)
  })
})

describe('OIDC single use is final only once a token is minted', () => {
  it('an upstream failure gives the ID token back; it then mints once, and a replay is refused', async () => {
    const app = setup()
    gh.failNext = 'unavailable'
    const failed = await v1(app, { repo: 'deploy-configs' })
    expect(failed.status).toBe(502)
    expect(auth.released).toEqual([OIDC])
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(201)
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(401)
    expect(auth.released).toEqual([OIDC])
    expect(gh.records.size).toBe(1)
  })

  it('a policy denial releases the token, so a corrected request mints with it', async () => {
    const app = setup()
    const denied = await v1(app, { repo: 'secret-repo' })
    expect(denied.status).toBe(403)
    expect(auth.released).toEqual([OIDC])
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(201)
  })

  it('a denial from the CreateToken fallback (after the policy allowed) releases too', async () => {
    const app = setup()
    gh.exchangeUnimplemented = true
    expect((await v1(app, { repo: 'deploy-configs', ttl: '15m' })).status).toBe(403)
    expect(auth.released).toEqual([OIDC])
    expect(auth.consumed.size).toBe(0)
  })

  it('a rate-limited request releases the token', async () => {
    const app = setup({ rateLimiter: createTokenBucketLimiter({ capacity: 1, refillPerMinute: 6, clock: () => new Date(0) }) })
    expect((await v1(app, { repo: 'deploy-configs' }, OIDC)).status).toBe(201)
    const limited = await v1(app, { repo: 'deploy-configs' }, OIDC_2)
    expect(limited.status).toBe(429)
    expect(auth.released).toEqual([OIDC_2])
    expect(auth.consumed.has(OIDC_2)).toBe(false)
  })

  it('never releases after a mint, even when recording ownership then fails', async () => {
    const app = setup({
      ownership: {
        put: async () => Promise.reject(new Error('ownership store down')),
        get: async () => undefined,
        delete: async () => undefined,
      },
    })
    const res = await v1(app, { repo: 'deploy-configs' })
    expect(res.status).toBe(500)
    expect(gh.records.size).toBe(1)
    expect(auth.released).toEqual([])
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(401)
  })

  it('a release failure is logged without secrets and does not change the response', async () => {
    const app = setup()
    auth.state.failRelease = true
    gh.failNext = 'internal'
    const res = await v1(app, { repo: 'deploy-configs' })
    expect(res.status).toBe(502)
    expect((await res.json()).code).toBe('UPSTREAM_FAILED')
    const warn = lines.map((l) => JSON.parse(l)).find((r) => r.level === 'warn')
    expect(warn).toMatchObject({ code: 'REPLAY_STORE_UNAVAILABLE', requestId: 'req-1' })
    expect(warn.message).toContain('could not release')
    expect(findSecrets(lines.join('\n'))).toEqual([])
    // Not released: the token stays used.
    expect((await v1(app, { repo: 'deploy-configs' })).status).toBe(401)
  })

  it('broker keys have nothing to release', async () => {
    const app = setup()
    gh.failNext = 'internal'
    expect((await v1(app, { repo: 'deploy-configs' }, KEY)).status).toBe(502)
    expect(auth.released).toEqual([])
  })
})
