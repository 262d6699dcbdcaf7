import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { formatDeployMessage } from '../../../functions/lib/deploys/trailers.js'
import { ConfigError } from '../../../functions/lib/errors.js'
import { GithostedUnavailableError } from '../../../functions/lib/githosted/errors.js'
import { createStatusApp, type StatusAppDeps } from '../../../functions/status/app.js'
import type { StatusReport } from '../../../functions/lib/status/types.js'
import { FakeRepo } from '../lib/status/fake-repo.js'
import { fakeAuthenticator, fakeClientFactory, fakeViewer, readToken } from './fakes.js'

const env = (image: string) => JSON.stringify({ image }, null, 2) + '\n'
const AUTH = { authorization: 'Bearer test-key' }

function seededRepo() {
  const repo = new FakeRepo()
  repo.commit(
    { 'environments/staging.json': env('app:1.0'), 'environments/production.json': env('app:0.9') },
    'Seed',
    'Seeder',
  )
  return repo
}

function deploy(repo: FakeRepo, environment: string, from: string, to: string) {
  repo.commit(
    { [`environments/${environment}.json`]: env(to) },
    formatDeployMessage(`Deploy ${to}`, {
      environment,
      source: 'api',
      changes: [{ pointer: '/image', previous: from, current: to }],
      requester: 'github:acme/app',
      runUrl: 'https://github.com/acme/app/actions/runs/77',
    }),
    'broker',
  )
}

function setup(overrides: Partial<StatusAppDeps> = {}, repo = seededRepo()) {
  const lines: string[] = []
  const { credential, viewer } = fakeViewer()
  const githosted = fakeClientFactory({ 'deploy-configs': repo })
  const app = createStatusApp({
    readToken: readToken(),
    githosted,
    authenticator: fakeAuthenticator,
    viewer,
    logger: createLogger({ sink: (l) => lines.push(l) }),
    clock: () => new Date('2024-05-01T12:00:00Z'),
    ...overrides,
  })
  return { app, repo, lines, credential, githosted }
}

async function login(app: ReturnType<typeof setup>['app'], credential: string, base = 'http://127.0.0.1') {
  const res = await app.request(`${base}/?key=${encodeURIComponent(credential)}`)
  const setCookie = res.headers.get('set-cookie') ?? ''
  return { res, setCookie, cookie: setCookie.split(';')[0]! }
}

describe('GET /v1/status', () => {
  it('needs caller authentication', async () => {
    const { app } = setup()
    const res = await app.request('/v1/status')
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).code).toBe('UNAUTHENTICATED')
  })

  it('returns every environment with the seed shape as a subset, an ETag and a short cache', async () => {
    const { app, repo } = setup()
    deploy(repo, 'staging', 'app:1.0', 'app:1.1')
    const res = await app.request('/v1/status?repo=deploy-configs', { headers: AUTH })
    expect(res.status).toBe(200)
    const body = (await res.json()) as StatusReport
    expect(body.headSha).toBe(repo.head)
    const staging = body.environments.find((e) => e.environment === 'staging')!
    expect(staging).toMatchObject({ environment: 'staging', image: 'app:1.1', headSha: repo.head, held: false })
    expect(typeof staging.updatedAt).toBe('string')
    expect(staging.lastCommit?.trailers?.runUrl).toBe('https://github.com/acme/app/actions/runs/77')
    expect(res.headers.get('etag')).toBe(`W/"status.h0-${repo.head}"`)
    expect(res.headers.get('cache-control')).toBe('private, max-age=5')
  })

  it('answers 304 while the head is unchanged, with one upstream call, and 200 after a deploy', async () => {
    const { app, repo } = setup()
    const first = await app.request('/v1/status', { headers: AUTH })
    const etag = first.headers.get('etag')!
    const callsBefore = repo.calls.length
    const again = await app.request('/v1/status', { headers: { ...AUTH, 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    expect(repo.calls.slice(callsBefore)).toEqual(['log'])

    deploy(repo, 'production', 'app:0.9', 'app:1.0')
    const changed = await app.request('/v1/status', { headers: { ...AUTH, 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
  })

  it('reuses a report read at the same head (no second round of file reads)', async () => {
    const { app, repo } = setup()
    await app.request('/v1/status', { headers: AUTH })
    const callsBefore = repo.calls.length
    const res = await app.request('/v1/status', { headers: AUTH })
    expect(res.status).toBe(200)
    expect(repo.calls.slice(callsBefore)).toEqual(['log'])
  })

  it('adds per-environment history on request', async () => {
    const { app, repo } = setup()
    deploy(repo, 'staging', 'app:1.0', 'app:1.1')
    const body = (await (await app.request('/v1/status?history=3', { headers: AUTH })).json()) as StatusReport
    const staging = body.environments.find((e) => e.environment === 'staging')!
    expect(staging.history?.map((d) => d.to)).toEqual(['app:1.1', 'app:1.0'])
  })

  it('rejects repos it does not serve and bad parameters', async () => {
    const { app } = setup()
    expect((await app.request('/v1/status?repo=other', { headers: AUTH })).status).toBe(404)
    const bad = await app.request('/v1/status?repo=..%2Fx', { headers: AUTH })
    expect(bad.status).toBe(400)
    expect((await bad.json()).field).toBe('repo')
    expect((await app.request('/v1/status?history=99', { headers: AUTH })).status).toBe(400)
  })

  it('asks the policy when one is given', async () => {
    const { app } = setup({
      policy: { authorizeRead: () => ({ allowed: false, identified: true, reason: 'no rule grants read on deploy-configs', trace: [] }) },
    })
    const res = await app.request('/v1/status', { headers: AUTH })
    expect(res.status).toBe(403)
    expect((await res.json()).detail).toBe('no rule grants read on deploy-configs')
  })

  it('refuses to read with anything but a gr_ token', async () => {
    const { app, githosted } = setup({ readToken: readToken('gw_fake') })
    const res = await app.request('/v1/status', { headers: AUTH })
    expect(res.status).toBe(500)
    expect((await res.json()).code).toBe('CONFIG_INVALID')
    expect(githosted.tokens).toEqual([])
  })

  it('maps upstream outages to a problem, not a cached state', async () => {
    const repo = seededRepo()
    const { app } = setup({}, repo)
    repo.log = () =>
      Promise.reject(new GithostedUnavailableError('githosted is unavailable', { connectCode: 'unavailable', procedure: 'Log' }))
    const res = await app.request('/v1/status', { headers: AUTH })
    expect(res.status).toBe(503)
    expect(res.headers.get('etag')).toBeNull()
  })
})

describe('GET /v1/status/{environment}/history', () => {
  it('lists the deploys of one environment, newest first, with who and from -> to', async () => {
    const { app, repo } = setup()
    deploy(repo, 'staging', 'app:1.0', 'app:1.1')
    deploy(repo, 'production', 'app:0.9', 'app:1.1')
    deploy(repo, 'staging', 'app:1.1', 'app:1.2')
    const res = await app.request('/v1/status/staging/history?limit=2', { headers: AUTH })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.deploys.map((d: { from: string; to: string; who: string }) => `${d.who}: ${d.from} -> ${d.to}`)).toEqual([
      'github:acme/app: app:1.1 -> app:1.2',
      'github:acme/app: app:1.0 -> app:1.1',
    ])
    const etag = res.headers.get('etag')!
    expect((await app.request('/v1/status/staging/history?limit=2', { headers: { ...AUTH, 'if-none-match': etag } })).status).toBe(304)
  })

  it('answers 404 for an unknown environment and 400 for a bad name or limit', async () => {
    const { app } = setup()
    expect((await app.request('/v1/status/qa/history', { headers: AUTH })).status).toBe(404)
    expect((await app.request('/v1/status/a..b/history', { headers: AUTH })).status).toBe(400)
    expect((await app.request('/v1/status/staging/history?limit=0', { headers: AUTH })).status).toBe(400)
  })
})

describe('read-only surface', () => {
  it('has no route that accepts a write method', async () => {
    const { app } = setup()
    const methods = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => r.method))
    for (const m of methods) expect(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).toContain(m)
    for (const path of ['/v1/status', '/v1/status/staging/history', '/']) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await app.request(path, { method, headers: AUTH, body: '{}' })
        expect(res.status, `${method} ${path}`).toBe(405)
        expect(res.headers.get('allow')).toBe('GET, HEAD')
      }
    }
  })
})

describe('dashboard page', () => {
  it('is closed without a viewer credential and explains how to get in', async () => {
    const { app } = setup()
    const res = await app.request('http://127.0.0.1/')
    expect(res.status).toBe(401)
    const text = await res.text()
    expect(text).toContain('needs a viewer credential')
    expect(text).toContain('/?key=')
    expect((await app.request('http://127.0.0.1/?key=gvc_wrong')).status).toBe(401)
  })

  it('is closed for everyone when the deployment configures no viewer credential', async () => {
    const { app, credential } = setup({ viewer: undefined })
    const res = await app.request(`http://127.0.0.1/?key=${credential}`)
    expect(res.status).toBe(401)
    expect(await res.text()).toContain('no viewer credential configured')
  })

  it('exchanges ?key= for an HttpOnly SameSite=Strict session cookie and redirects away from the key', async () => {
    const { app, credential, lines } = setup()
    const { res, setCookie, cookie } = await login(app, credential)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('./')
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    expect(setCookie).not.toMatch(/Secure/) // plain http on 127.0.0.1
    expect(cookie).not.toContain(credential)

    const https = await login(app, credential, 'https://status.example.com')
    expect(https.setCookie).toMatch(/; Secure/)

    const page = await app.request('http://127.0.0.1/', { headers: { cookie } })
    expect(page.status).toBe(200)
    // the credential never reaches a log line
    expect(lines.join('\n')).not.toContain(credential)
    expect(lines.join('\n')).toContain('"path":"/"')
  })

  it('renders every environment with image, commit, who, run link and history under a nonce CSP', async () => {
    const { app, repo, credential } = setup()
    deploy(repo, 'staging', 'app:1.0', 'app:1.1')
    repo.commit({ 'holds/production.json': JSON.stringify({ reason: 'freeze', by: 'ops' }) }, 'hold production')
    const { cookie } = await login(app, credential)
    const res = await app.request('http://127.0.0.1/', { headers: { cookie } })
    const page = await res.text()
    expect(page.startsWith('<!doctype html>')).toBe(true)
    expect(page).toContain('<html lang="en">')
    expect(page).toContain('<code class="image">app:1.1</code>')
    expect(page).toContain('<code class="image">app:0.9</code>')
    expect(page).toContain('github:acme/app')
    expect(page).toContain('href="https://github.com/acme/app/actions/runs/77"')
    expect(page).toContain('<caption>Recent deploys to staging</caption>')
    expect(page).toContain('<th scope="col">When</th>')
    expect(page).toMatch(/class="badge held"[^>]*>Held</)
    expect(page).toContain('Deploys are held by ops: freeze.')
    const csp = res.headers.get('content-security-policy')!
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!
    expect(page).toContain(`<script nonce="${nonce}">`)
    expect(csp).toContain("default-src 'none'")
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('still renders and says what is wrong for a broken environment, an empty repo or no environments folder', async () => {
    const broken = seededRepo()
    broken.commit({ 'environments/qa.json': '{ nope' }, 'broken')
    const a = setup({}, broken)
    let page = await (await a.app.request('http://127.0.0.1/', { headers: { cookie: (await login(a.app, a.credential)).cookie } })).text()
    expect(page).toContain('environments/qa.json is not valid JSON')
    expect(page).toContain('<code class="image">app:1.0</code>')

    const empty = setup({}, new FakeRepo())
    page = await (await empty.app.request('http://127.0.0.1/', { headers: { cookie: (await login(empty.app, empty.credential)).cookie } })).text()
    expect(page).toContain('deploy-configs has no commits yet')

    const noDir = new FakeRepo()
    noDir.commit({ 'README.md': 'x' }, 'init')
    const c = setup({}, noDir)
    page = await (await c.app.request('http://127.0.0.1/', { headers: { cookie: (await login(c.app, c.credential)).cookie } })).text()
    expect(page).toContain('has no environments/ folder')
  })

  it('renders the page with the reason when githosted is down', async () => {
    const repo = seededRepo()
    const { app, credential } = setup({}, repo)
    const { cookie } = await login(app, credential)
    repo.log = () =>
      Promise.reject(new GithostedUnavailableError('githosted is unavailable (connection refused)', { connectCode: 'unavailable', procedure: 'Log' }))
    const res = await app.request('http://127.0.0.1/', { headers: { cookie } })
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('githosted is unavailable (connection refused)')
  })

  it('bounces a cross-site navigation once so the SameSite=Strict cookie can be sent', async () => {
    const { app } = setup()
    const res = await app.request('http://127.0.0.1/', { headers: { 'sec-fetch-site': 'cross-site' } })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('http-equiv="refresh" content="0;url=./"')
    const same = await app.request('http://127.0.0.1/', { headers: { 'sec-fetch-site': 'same-origin' } })
    expect(same.status).toBe(401)
  })

  it('serves the fragment with an ETag, 304 while unchanged, and 401 without a session', async () => {
    const { app, repo, credential } = setup()
    expect((await app.request('http://127.0.0.1/?fragment=1')).status).toBe(401)
    const { cookie } = await login(app, credential)
    const res = await app.request('http://127.0.0.1/?fragment=1', { headers: { cookie } })
    expect(res.status).toBe(200)
    const etag = res.headers.get('etag')!
    const fragment = await res.text()
    expect(fragment).toContain('<ul class="envs">')
    expect(fragment).not.toContain('<html')
    expect((await app.request('http://127.0.0.1/?fragment=1', { headers: { cookie, 'if-none-match': etag } })).status).toBe(304)
    deploy(repo, 'staging', 'app:1.0', 'app:2.0')
    const changed = await app.request('http://127.0.0.1/?fragment=1', { headers: { cookie, 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(await changed.text()).toContain('app:2.0')
  })

  it('rejects an expired session', async () => {
    let now = new Date('2024-05-01T12:00:00Z')
    const { credential, viewer } = fakeViewer(60)
    const app = createStatusApp({
      readToken: readToken(),
      githosted: fakeClientFactory({ 'deploy-configs': seededRepo() }),
      authenticator: fakeAuthenticator,
      viewer,
      logger: createLogger({ sink: () => {} }),
      clock: () => now,
    })
    const { cookie } = await login(app, credential)
    expect((await app.request('http://127.0.0.1/', { headers: { cookie } })).status).toBe(200)
    now = new Date(now.getTime() + 61_000)
    expect((await app.request('http://127.0.0.1/', { headers: { cookie } })).status).toBe(401)
  })
})

describe('edge', () => {
  it('reports a configuration failure as a 500 problem naming the cause on every path, lazily', async () => {
    let calls = 0
    const app = createStatusApp(() => {
      calls++
      throw new ConfigError('Missing environment variable DASHBOARD_TOKEN_SECRET_ARN.')
    })
    expect(calls).toBe(0)
    for (const path of ['/v1/status', '/', '/openapi.json']) {
      const res = await app.request(`http://127.0.0.1${path}`, { headers: AUTH })
      expect(res.status, path).toBe(500)
      expect(res.headers.get('content-type'), path).toBe('application/problem+json')
      expect(await res.json(), path).toMatchObject({ code: 'CONFIG_INVALID', detail: expect.stringContaining('DASHBOARD_TOKEN_SECRET_ARN') })
    }
    expect(calls).toBe(3)
  })

  it('logs each request once with the status the caller got, fallbacks included, and answers them as problems', async () => {
    const { app, lines } = setup()
    const res = await app.request('/openapi.json', { method: 'OPTIONS' })
    expect(res.status).toBe(405)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const nope = await app.request('/nope')
    expect(nope.status).toBe(404)
    expect(nope.headers.get('content-type')).toBe('application/problem+json')
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'status request')
    expect(logged.map((l) => [l.method, l.path, l.status])).toEqual([
      ['OPTIONS', '/openapi.json', 405],
      ['GET', '/nope', 404],
    ])
    expect(logged[0].requestId).toBe(res.headers.get('x-request-id'))
  })
})
