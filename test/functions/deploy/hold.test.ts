/**
 * POST /v1/deploys/hold and DELETE /v1/deploys/hold end to end over real
 * HTTP: the deploy app on a socket, real broker-key authentication, a real
 * policy, scoped gr_ tokens and the local githosted server. A hold placed
 * through the API must stop an ECR event (the events handler) and an
 * explicit deploy; releasing it must let both through again.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { generateBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { RecentDeploys } from '../../../functions/lib/deploys/recent.js'
import { parseDeployTrailers } from '../../../functions/lib/deploys/trailers.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../../functions/lib/policy/index.js'
import { functionForPath, ROUTES } from '../../../functions/routes.js'
import { createEventsHandler } from '../../../functions/events/app.js'
import { loadMapping } from '../../../functions/events/mapping.js'
import { findSecrets } from '../../setup/secret-patterns.js'
import { gitMessage, plainSubject, startTestGithosted, testProfile, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'
import { createTestDeployApp } from '../../helpers/deploy-app.js'

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/eventbridge/${name}.json`, import.meta.url), 'utf8'))
const mapping = loadMapping(JSON.parse(readFileSync(new URL('../../../config/deploy-mapping.json', import.meta.url), 'utf8')))
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'

let gh: TestGithosted
let served: ServedApp
let admin: Client
const lines: string[] = []
const deployer = generateBrokerKey()
const stagingOnly = generateBrokerKey()
const noOverride = generateBrokerKey()

beforeAll(async () => {
  gh = await startTestGithosted()
  admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  const grant = { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' }
  const policy = loadPolicy({
    version: 1,
    rules: [
      { name: 'deployer', match: { brokerKey: 'deployer' }, grant: { ...grant, environments: ['staging', 'production', 'qa'], overrideHolds: true } },
      { name: 'no-override', match: { brokerKey: 'no-override' }, grant: { ...grant, environments: ['staging', 'production'] } },
      { name: 'staging-only', match: { brokerKey: 'staging-only' }, grant: { ...grant, environments: ['staging'] } },
    ],
  })
  const logger = createLogger({ level: 'info', sink: (l) => (lines.push(l), process.stdout.write(l + '\n')) })
  const app = createTestDeployApp({ gh, policy, logger, keys: { deployer, 'staging-only': stagingOnly, 'no-override': noOverride } })
  served = await serveApp(app.fetch)
})

afterAll(async () => {
  await served?.close()
  await gh?.close()
})

async function call(method: string, path: string, key: string | undefined, body?: unknown) {
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> }
}

const hold = (key: string | undefined, body: unknown) => call('POST', '/v1/deploys/hold', key, body)
const release = (key: string | undefined, query: Record<string, string>, body?: unknown) =>
  call('DELETE', `/v1/deploys/hold?${new URLSearchParams(query)}`, key, body)
const deploy = (key: string, body: unknown) => call('POST', '/v1/deploys', key, body)

const repo = () => admin.repo('deploy-configs')
const commitCount = async () => (await repo().log({ limit: 1000 })).length
const imageOf = async (env: string) => JSON.parse((await repo().read(`environments/${env}.json`)).content).image
const holdFile = async (env: string) => {
  try {
    return JSON.parse((await repo().read(`holds/${env}.json`)).content) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** An ECR push for acme/app (mapped to staging), as a fresh Lambda container receives it. */
function ecrPush(tag: string, id: string, time: string) {
  const event = { ...fixture('ecr-push-v1.4.2'), id, time }
  event.detail = { ...event.detail, 'image-tag': tag }
  const handler = createEventsHandler({ mapping, repos: async (r) => admin.repo(r), logger: createLogger({ level: 'warn', sink: () => {} }), recent: new RecentDeploys() })
  return handler(event)
}

describe('hold and release through the API', () => {
  it('holds an environment as a commit saying who and why; events and deploys then stop', async () => {
    const before = await commitCount()
    const r = await hold(deployer, { repo: 'deploy-configs', environment: 'staging', reason: 'incident 42' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ held: true, changed: true, hold: { reason: 'incident 42', by: 'key:deployer' }, environment: 'staging', path: 'holds/staging.json' })
    expect(Number.isNaN(Date.parse(r.body.hold.at))).toBe(false)
    expect(r.body.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(await commitCount()).toBe(before + 1)
    expect(await holdFile('staging')).toEqual(r.body.hold)
    const [latest] = await repo().log({ limit: 1 })
    expect(latest!.sha).toBe(r.body.commit)
    expect(plainSubject(latest!.subject)).toBe('Hold staging: incident 42')
    expect(parseDeployTrailers(gitMessage(gh, 'deploy-configs', latest!.sha))).toMatchObject({ environment: 'staging', source: 'hold', requester: 'key:deployer', reason: 'incident 42', changes: [] })

    const imageBefore = await imageOf('staging')
    const event = await ecrPush('v1.5.0', '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9', '2026-03-12T20:00:00Z')
    expect(event.targets[0]).toMatchObject({ environment: 'staging', outcome: 'skipped' })
    expect(event.targets[0]!.reason).toContain('incident 42')

    const explicit = await deploy(deployer, { repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:9.9.9' })
    expect(explicit.status).toBe(409)
    expect(explicit.type).toContain('application/problem+json')
    expect(explicit.body).toMatchObject({ code: 'ENVIRONMENT_HELD', hold: { reason: 'incident 42', by: 'key:deployer' } })
    expect(await imageOf('staging')).toBe(imageBefore)
    expect(await commitCount()).toBe(before + 1)
  })

  it('is idempotent: the same hold again makes no commit; a new reason replaces it', async () => {
    const before = await commitCount()
    const [tip] = await repo().log({ limit: 1 })
    const firstAt = (await holdFile('staging'))!.at
    const again = await hold(deployer, { repo: 'deploy-configs', environment: 'staging', reason: 'incident 42' })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ held: true, changed: false, commit: tip!.sha, hold: { reason: 'incident 42', at: firstAt } })
    expect(await commitCount()).toBe(before)

    // Someone else's hold is not replaced without overrideHolds (test/attacks/deploys-holds covers the rule).
    const other = await hold(stagingOnly, { repo: 'deploy-configs', environment: 'staging', reason: 'load test until 14:00' })
    expect(other.status).toBe(409)
    expect(other.body).toMatchObject({ code: 'ENVIRONMENT_HELD', hold: { reason: 'incident 42', by: 'key:deployer' } })
    expect(await commitCount()).toBe(before)

    const replaced = await hold(deployer, { repo: 'deploy-configs', environment: 'staging', reason: 'load test until 14:00' })
    expect(replaced.body).toMatchObject({
      held: true,
      changed: true,
      hold: { reason: 'load test until 14:00', by: 'key:deployer' },
      previous: { reason: 'incident 42', by: 'key:deployer' },
    })
    expect(await commitCount()).toBe(before + 1)
    const [latest] = await repo().log({ limit: 1 })
    expect(gitMessage(gh, 'deploy-configs', latest!.sha)).toContain('Replaces the hold by key:deployer: incident 42')
  })

  it('releases the hold as a commit; events and deploys go through again; releasing twice is a no-op', async () => {
    const before = await commitCount()
    const r = await release(deployer, { repo: 'deploy-configs', environment: 'staging', reason: 'incident resolved' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ held: false, changed: true, previous: { reason: 'load test until 14:00' } })
    expect(r.body.hold).toBeUndefined()
    if (testProfile() === 'minimal') {
      // No DeleteFile: the hold file now says it is released, by whom and when.
      expect(await holdFile('staging')).toMatchObject({ state: 'released', by: 'key:deployer' })
    } else {
      expect(await holdFile('staging')).toBeUndefined()
    }
    const [latest] = await repo().log({ limit: 1 })
    expect(latest!.sha).toBe(r.body.commit)
    expect(plainSubject(latest!.subject)).toBe('Release hold on staging: incident resolved')
    expect(parseDeployTrailers(gitMessage(gh, 'deploy-configs', latest!.sha))).toMatchObject({ source: 'release', requester: 'key:deployer', reason: 'incident resolved' })
    expect(await commitCount()).toBe(before + 1)

    const again = await release(deployer, { repo: 'deploy-configs', environment: 'staging' })
    expect(again.body).toMatchObject({ held: false, changed: false, commit: r.body.commit })
    expect(await commitCount()).toBe(before + 1)

    const event = await ecrPush('v1.6.0', '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', '2026-03-12T21:00:00Z')
    expect(event.targets[0]).toMatchObject({ environment: 'staging', outcome: 'committed' })
    expect(await imageOf('staging')).toBe(`${REGISTRY}/acme/app:v1.6.0`)
    const explicit = await deploy(deployer, { repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:2.0.0' })
    expect(explicit.status).toBe(200)
    expect(await imageOf('staging')).toBe('ghcr.io/acme/app:2.0.0')
  })

  it('needs deploy rights to the environment for both, and writes nothing when refused', async () => {
    const before = await commitCount()
    const noAuth = await hold(undefined, { repo: 'deploy-configs', environment: 'staging', reason: 'x' })
    expect(noAuth.status).toBe(401)
    expect(noAuth.type).toContain('application/problem+json')
    const denied = await hold(stagingOnly, { repo: 'deploy-configs', environment: 'production', reason: 'freeze' })
    expect(denied.status).toBe(403)
    expect(denied.body.code).toBe('FORBIDDEN')
    expect(denied.body.detail).toMatch(/production/)
    expect(await holdFile('production')).toBeUndefined()
    expect(await commitCount()).toBe(before)

    const held = await hold(deployer, { repo: 'deploy-configs', environment: 'production', reason: 'freeze' })
    expect(held.status).toBe(200)
    const cannotRelease = await release(stagingOnly, { repo: 'deploy-configs', environment: 'production' })
    expect(cannotRelease.status).toBe(403)
    // Deploy rights allow placing a hold, but lifting one is overriding it.
    const mayNotOverride = await release(noOverride, { repo: 'deploy-configs', environment: 'production' })
    expect(mayNotOverride.status).toBe(403)
    expect(mayNotOverride.body.detail).toMatch(/hold/i)
    expect(await holdFile('production')).toMatchObject({ reason: 'freeze', by: 'key:deployer' })
    expect(await commitCount()).toBe(before + 1)
    expect((await release(deployer, { repo: 'deploy-configs', environment: 'production' })).status).toBe(200)
  })

  it('answers bad input with a 400 naming the field (404 for an unknown environment) and writes nothing', async () => {
    const before = await commitCount()
    const ok = { repo: 'deploy-configs', environment: 'staging', reason: 'freeze' }
    const holdCases: Array<[unknown, number, string | undefined, RegExp]> = [
      [{ repo: 'deploy-configs', environment: 'staging' }, 400, 'reason', /reason is required/],
      [{ ...ok, reason: '   ' }, 400, 'reason', /reason is required/],
      [{ ...ok, reason: 42 }, 400, 'reason', /reason is required/],
      [{ ...ok, reason: 'line one\nline two' }, 400, 'reason', /single line/],
      [{ ...ok, reason: 'x'.repeat(501) }, 400, 'reason', /at most 500/],
      [{ ...ok, environment: '../environments/staging' }, 400, 'environment', /environment must be/],
      [{ ...ok, environment: 'a..b' }, 400, 'environment', /no "\.\."/],
      [{ ...ok, repo: '../other' }, 400, 'repo', /repo must be/],
      [{ ...ok, by: 'someone-else' }, 400, 'by', /Unknown field "by"/],
      [{ ...ok, environment: 'qa' }, 404, undefined, /Unknown environment "qa"/],
      ['{"repo": ', 400, undefined, /not valid JSON/],
    ]
    for (const [body, status, field, detail] of holdCases) {
      const r = await hold(deployer, body)
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(r.type).toContain('application/problem+json')
      expect(r.body.field).toBe(field)
      expect(r.body.detail).toMatch(detail)
    }
    expect(await holdFile('qa')).toBeUndefined()

    const releaseCases: Array<[Record<string, string>, unknown, string | undefined, RegExp]> = [
      [{ repo: 'deploy-configs' }, undefined, 'environment', /environment is required/],
      [{ repo: 'deploy-configs', environment: '..' }, undefined, 'environment', /environment must be/],
      [{ repo: 'deploy-configs', environment: 'staging', force: 'true' }, undefined, 'force', /Unknown field "force"/],
      [{ repo: 'deploy-configs', environment: 'staging', reason: 'a\u0007b' }, undefined, 'reason', /single line/],
      [{ repo: 'deploy-configs', environment: 'staging' }, { reason: 'in a body' }, undefined, /query string, not a body/],
    ]
    for (const [query, body, field, detail] of releaseCases) {
      const r = await release(deployer, query, body)
      expect(r.status, JSON.stringify(query)).toBe(400)
      expect(r.body.field).toBe(field)
      expect(r.body.detail).toMatch(detail)
    }
    const repeated = await call('DELETE', '/v1/deploys/hold?repo=deploy-configs&environment=staging&environment=production', deployer)
    expect(repeated.status).toBe(400)
    expect(repeated.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'environment' })
    expect(await commitCount()).toBe(before)
  })
})

describe('routing', () => {
  it('reaches the deploy function for both methods (API Gateway and the local router share ROUTES)', () => {
    expect(functionForPath('/v1/deploys/hold')).toBe('deploy')
    const proxy = ROUTES.find((r) => r.path === '/v1/deploys/{proxy+}')
    expect(proxy).toMatchObject({ fn: 'deploy', methods: ['ANY'] })
  })
})

describe('logs', () => {
  it('never contain a key or token and audit every hold decision', () => {
    expect(findSecrets(lines.join('\n'))).toEqual([])
    const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.audit === 1)
    const holds = audits.filter((a) => a.event === 'deploy.hold')
    expect(holds.some((a) => a.outcome === 'allowed' && a.reason === 'committed')).toBe(true)
    expect(holds.some((a) => a.outcome === 'allowed' && a.reason === 'already held')).toBe(true)
    expect(holds.some((a) => a.outcome === 'denied' && a.code === 'FORBIDDEN')).toBe(true)
    // A bad request is refused, not failed: 4xx is 'denied' in every function (lib/audit/audited.ts).
    expect(holds.some((a) => a.outcome === 'denied' && a.code === 'VALIDATION_FAILED')).toBe(true)
    const releases = audits.filter((a) => a.event === 'deploy.release')
    expect(releases.some((a) => a.outcome === 'allowed' && a.reason === 'not held')).toBe(true)
    expect(releases.some((a) => a.outcome === 'denied')).toBe(true)
  })
})
