/**
 * /v1/deploys end to end over real HTTP: the deploy app on a socket, the
 * real authenticator (broker keys), a real policy, scoped gr_ tokens minted
 * from the workspace token, and the local githosted server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { generateBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { releaseHold } from '../../../functions/lib/deploys/holds.js'
import { parseDeployTrailers } from '../../../functions/lib/deploys/trailers.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../../functions/lib/policy/index.js'
import { findSecrets } from '../../setup/secret-patterns.js'
import { gitMessage, plainSubject, startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'
import { createTestDeployApp } from '../../helpers/deploy-app.js'

let gh: TestGithosted
let served: ServedApp
let admin: Client
const lines: string[] = []
const deployer = generateBrokerKey()
const stagingOnly = generateBrokerKey()
const releaser = generateBrokerKey()

beforeAll(async () => {
  gh = await startTestGithosted()
  admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  const grant = { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' }
  const policy = loadPolicy({
    version: 1,
    rules: [
      { name: 'deployer', match: { brokerKey: 'deployer' }, grant: { ...grant, environments: ['staging', 'production', 'broken', 'qa'] } },
      { name: 'staging-only', match: { brokerKey: 'staging-only' }, grant: { ...grant, environments: ['staging'] } },
      { name: 'releaser', match: { brokerKey: 'releaser' }, grant: { ...grant, environments: ['production'], overrideHolds: true } },
    ],
  })
  const logger = createLogger({ level: 'info', sink: (l) => (lines.push(l), process.stdout.write(l + '\n')) })
  const app = createTestDeployApp({ gh, policy, logger, keys: { deployer, 'staging-only': stagingOnly, releaser } })
  served = await serveApp(app.fetch)
  await admin.repo('deploy-configs').write('environments/broken.json', '{"image": ', { message: 'broken file' })
})

afterAll(async () => {
  await served?.close()
  await gh?.close()
})

async function post(path: string, key: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${served.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> }
}

const repo = () => admin.repo('deploy-configs')
const fileOf = async (env: string) => JSON.parse((await repo().read(`environments/${env}.json`)).content)

describe('POST /v1/deploys', () => {
  it('sets a number beyond a double\'s precision exactly, in the file and in the answer; a reserved key is a 400', async () => {
    const raw = '{"repo": "deploy-configs", "environment": "staging", "set": {"/limits/bytes": 12345678901234567890}}'
    const res = await fetch(`${served.url}/v1/deploys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${deployer}` }, body: raw })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).toContain('"current":{"/limits/bytes":12345678901234567890}')
    expect((await repo().read('environments/staging.json')).content).toContain('"bytes": 12345678901234567890')
    const bad = await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'staging', set: { '/__proto__/polluted': 1 } })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'set' })
    expect(bad.body.detail).toMatch(/reserved key "__proto__"/)
  })

  it('deploys an image with a scoped token and records who and why', async () => {
    const r = await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:1.4.2' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      changed: true,
      previous: { '/image': 'ghcr.io/acme/app:1.0.0' },
      current: { '/image': 'ghcr.io/acme/app:1.4.2' },
      repo: 'deploy-configs',
      environment: 'staging',
    })
    expect(r.body.commit).toMatch(/^[0-9a-f]{40}$/)
    const [latest] = await repo().log({ path: 'environments/staging.json', limit: 1 })
    expect(latest!.sha).toBe(r.body.commit)
    expect(plainSubject(latest!.subject)).toBe('Deploy ghcr.io/acme/app:1.4.2 to staging')
    expect(parseDeployTrailers(gitMessage(gh, 'deploy-configs', latest!.sha))).toMatchObject({ source: 'api', requester: 'key:deployer' })
    // The write went through a gr_ token allowed on this one repo only.
    const tokens = (await admin.listTokens({ pageSize: 1000 })).tokens
    const scoped = tokens.filter((t) => t.kind === 'repo')
    expect(scoped.length).toBeGreaterThan(0)
    expect(scoped.every((t) => t.repoAllowlist.length === 1 && t.repoAllowlist[0] === 'deploy-configs' && t.permission === 'write')).toBe(true)
  })

  it('is idempotent: the same key twice makes one commit; a value already in place makes none', async () => {
    const body = { repo: 'deploy-configs', environment: 'staging', set: { '/replicas': 3 } }
    const a = await post('/v1/deploys', deployer, body, { 'idempotency-key': 'run-77' })
    const b = await post('/v1/deploys', deployer, body, { 'idempotency-key': 'run-77' })
    expect(a.body.changed).toBe(true)
    expect(b.body).toMatchObject({ commit: a.body.commit, replayed: true })
    const c = await post('/v1/deploys', deployer, body)
    expect(c.body).toMatchObject({ changed: false })
    expect((await repo().log({ path: 'environments/staging.json', limit: 1 }))[0]!.sha).toBe(a.body.commit)
  })

  it('returns the diff for a dry run and writes nothing', async () => {
    const before = (await repo().log({ limit: 1 }))[0]!.sha
    const r = await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'staging', set: { '/env/LOG_LEVEL': 'info' }, dryRun: true })
    expect(r.status).toBe(200)
    expect(r.body.diff).toContain('-    "LOG_LEVEL": "debug"\n+    "LOG_LEVEL": "info"')
    expect((await repo().log({ limit: 1 }))[0]!.sha).toBe(before)
  })

  it('authorizes by the policy\'s deploy environments, with reasons', async () => {
    const noAuth = await post('/v1/deploys', undefined, { repo: 'deploy-configs', environment: 'staging', image: 'a:1' })
    expect(noAuth.status).toBe(401)
    expect(noAuth.type).toContain('application/problem+json')
    const denied = await post('/v1/deploys', stagingOnly, { repo: 'deploy-configs', environment: 'production', image: 'a:1' })
    expect(denied.status).toBe(403)
    expect(denied.body.detail).toMatch(/production/)
    expect((await fileOf('production')).image).toBe('ghcr.io/acme/app:1.0.0')
  })

  it('answers bad input with clear problem+json errors and writes nothing', async () => {
    const before = (await repo().log({ limit: 1 }))[0]!.sha
    const cases: Array<[unknown, number, RegExp]> = [
      [{ repo: 'deploy-configs', environment: '../holds/x', image: 'a:1' }, 400, /environment must be/],
      [{ repo: 'deploy-configs', environment: 'qa', image: 'a:1' }, 404, /Unknown environment "qa"/],
      [{ repo: 'deploy-configs', environment: 'broken', image: 'a:1' }, 409, /environments\/broken.json in deploy-configs is not valid JSON/],
      [{ repo: 'deploy-configs', environment: 'staging', set: { '/image/tag': 'x' } }, 400, /non-object value at \/image/],
      [{ repo: 'deploy-configs', environment: 'staging', set: { '/notes': 'x'.repeat(17_000) } }, 400, /larger than 16384 bytes/],
      [{ repo: 'deploy-configs', environment: 'staging', image: 'a:1', extra: true }, 400, /Unknown field "extra"/],
      ['{"repo": ', 400, /not valid JSON/],
    ]
    for (const [body, status, detail] of cases) {
      const r = await post('/v1/deploys', deployer, body)
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(r.body.detail).toMatch(detail)
    }
    expect((await repo().log({ limit: 1 }))[0]!.sha).toBe(before)
  })

  it('respects holds: 409 unless the policy allows an override and the request asks for it', async () => {
    await repo().write('holds/production.json', JSON.stringify({ reason: 'change freeze', by: 'sre' }), { message: 'Hold production' })
    const held = await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'production', image: 'a:2' })
    expect(held.status).toBe(409)
    expect(held.body).toMatchObject({ code: 'ENVIRONMENT_HELD', hold: { reason: 'change freeze' } })
    const notAllowed = await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'production', image: 'a:2', overrideHold: true })
    expect(notAllowed.status).toBe(403)
    const forced = await post('/v1/deploys', releaser, { repo: 'deploy-configs', environment: 'production', image: 'a:2', overrideHold: true })
    expect(forced.status).toBe(200)
    expect((await fileOf('production')).image).toBe('a:2')
    await releaseHold(repo(), 'production', { message: 'Release production' })
  })
})

describe('POST /v1/deploys/rollback', () => {
  it('sets the image back to the previous deploy as a new commit, and to a given commit', async () => {
    await post('/v1/deploys', deployer, { repo: 'deploy-configs', environment: 'production', image: 'a:3' })
    const r = await post('/v1/deploys/rollback', deployer, { repo: 'deploy-configs', environment: 'production' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ changed: true, previous: { '/image': 'a:3' }, current: { '/image': 'a:2' } })
    const [latest] = await repo().log({ path: 'environments/production.json', limit: 1 })
    expect(plainSubject(latest!.subject)).toBe('Roll back production to a:2')
    expect(parseDeployTrailers(gitMessage(gh, 'deploy-configs', latest!.sha))?.source).toBe('rollback')
    const first = (await repo().log({ path: 'environments/production.json', limit: 100 })).at(-1)!.sha
    const toFirst = await post('/v1/deploys/rollback', deployer, { repo: 'deploy-configs', environment: 'production', to: first })
    expect(toFirst.body).toMatchObject({ current: { '/image': 'ghcr.io/acme/app:1.0.0' }, rolledBackTo: first })
    expect((await fileOf('production')).image).toBe('ghcr.io/acme/app:1.0.0')
  })
})

describe('logs', () => {
  it('never contain a key or token and audit every decision', () => {
    expect(findSecrets(lines.join('\n'))).toEqual([])
    const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.audit === 1)
    expect(audits.some((a) => a.event === 'deploy.apply' && a.outcome === 'denied')).toBe(true)
    expect(audits.some((a) => a.event === 'deploy.rollback' && a.outcome === 'allowed')).toBe(true)
  })
})
