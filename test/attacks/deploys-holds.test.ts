/**
 * Attacks through deploys and holds: replacing someone else's hold, markup
 * or junk written as an image through `set`, environment names that try to
 * leave the environments directory, and trailer injection through a reason.
 * Every refusal writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_LAYOUT } from '../../functions/lib/deploys/change.js'
import { parseDeployTrailers } from '../../functions/lib/deploys/trailers.js'
import { REPO, startHarness, type Harness } from './harness.js'

let h: Harness

beforeAll(async () => {
  // As the deploy handler configures it: the mapping's ECR pointers are image keys too.
  h = await startHarness({ layout: { ...DEFAULT_LAYOUT, imagePointers: ['/sidecar/image'] } })
})
afterAll(async () => {
  await h?.close()
})

const repo = () => h.admin.repo(REPO)
const commits = async () => (await repo().log({ limit: 1000 })).length
const holdOf = async (env: string) => {
  try {
    return JSON.parse((await repo().read(`holds/${env}.json`)).content) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** One GitHub job of acme/app: deploy rights to staging and production, no overrideHolds. */
const githubJob = (run: string) => h.oidc.mint('github', { claims: { run_id: run } })

describe('holds', () => {
  it('a deployer without overrideHolds cannot replace someone else\'s hold: 409 ENVIRONMENT_HELD, nothing written', async () => {
    const placed = await h.call('POST', '/v1/deploys/hold', { auth: h.brokerKey, body: { repo: REPO, environment: 'production', reason: 'release freeze' } })
    expect(placed.status).toBe(200)
    const before = await commits()
    const r = await h.call('POST', '/v1/deploys/hold', {
      auth: await githubJob('31'),
      body: { repo: REPO, environment: 'production', reason: 'nothing to see here' },
    })
    expect(r.status).toBe(409)
    expect(r.json).toMatchObject({ code: 'ENVIRONMENT_HELD', hold: { reason: 'release freeze', by: 'key:local' } })
    expect(await holdOf('production')).toMatchObject({ reason: 'release freeze', by: 'key:local' })
    expect(await commits()).toBe(before)
  })

  it('the same requester may replace its own hold; overrideHolds may replace anyone\'s', async () => {
    const job = await githubJob('32')
    const first = await h.call('POST', '/v1/deploys/hold', { auth: job, body: { repo: REPO, environment: 'staging', reason: 'flaky canary' } })
    expect(first.status).toBe(200)
    const own = await h.call('POST', '/v1/deploys/hold', { auth: job, body: { repo: REPO, environment: 'staging', reason: 'flaky canary, investigating' } })
    expect(own.status).toBe(200)
    expect(own.json).toMatchObject({ changed: true, hold: { reason: 'flaky canary, investigating' } })
    const other = await h.call('POST', '/v1/deploys/hold', { auth: await githubJob('33'), body: { repo: REPO, environment: 'staging', reason: 'mine now' } })
    expect(other.status).toBe(409)
    expect(other.json).toMatchObject({ code: 'ENVIRONMENT_HELD' })
    const admin = await h.call('POST', '/v1/deploys/hold', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', reason: 'taking over' } })
    expect(admin.status).toBe(200)
    expect(admin.json).toMatchObject({ hold: { by: 'key:local' }, previous: { reason: 'flaky canary, investigating' } })
    for (const env of ['staging', 'production']) {
      expect((await h.call('DELETE', `/v1/deploys/hold?repo=${REPO}&environment=${env}`, { auth: h.brokerKey })).status).toBe(200)
    }
  })
})

describe('images', () => {
  const bad = ['<img src=x onerror=alert(1)>', 'app:1"><script>', 'app:1 --privileged', 'App:1', 'app:1\n', '', 'javascript:alert(1)']

  it.each(bad)('image %j is refused: 400 VALIDATION_FAILED on image, nothing written', async (image) => {
    const before = await commits()
    const r = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', image } })
    expect(r.status).toBe(400)
    expect(r.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'image' })
    expect(await commits()).toBe(before)
  })

  it.each(['/image', '/sidecar/image'])('set on %s gets the same check: 400 VALIDATION_FAILED on set', async (pointer) => {
    const before = await commits()
    for (const image of bad) {
      const r = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', set: { [pointer]: image } } })
      expect(r.status, JSON.stringify(image)).toBe(400)
      expect(r.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'set' })
      expect(r.json!.detail).toContain(`set ${pointer} must be`)
    }
    const notString = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', set: { [pointer]: { nested: '<b>' } } } })
    expect(notString.status).toBe(400)
    expect(await commits()).toBe(before)
  })

  it('real image references still deploy, either way', async () => {
    for (const body of [
      { image: 'ghcr.io/acme/app:1.4.2' },
      { set: { '/image': '123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/app:v1.5.0' } },
      { set: { '/image': `registry.example.com:5000/team/app@sha256:${'a'.repeat(64)}` } },
    ]) {
      const r = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', dryRun: true, ...body } })
      expect(r.status, JSON.stringify(body)).toBe(200)
    }
  })
})

describe('environment path traversal', () => {
  const names = ['../holds/production', '..', 'a/../../b', 'staging/../production', '%2e%2e', 'staging\u0000', '.staging', 'a..b']

  it.each(names)('environment %j is refused with 400 on deploy, hold and release, and 400/404 on history', async (environment) => {
    const before = await commits()
    for (const [method, path, body] of [
      ['POST', '/v1/deploys', { repo: REPO, environment, image: 'app:1' }],
      ['POST', '/v1/deploys/hold', { repo: REPO, environment, reason: 'x' }],
    ] as const) {
      const r = await h.call(method, path, { auth: h.brokerKey, body })
      expect(r.status).toBe(400)
      expect(r.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'environment' })
    }
    const release = await h.call('DELETE', `/v1/deploys/hold?${new URLSearchParams({ repo: REPO, environment })}`, { auth: h.brokerKey })
    expect(release.status).toBe(400)
    expect(release.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'environment' })
    const history = await h.call('GET', `/v1/status/${encodeURIComponent(environment)}/history?repo=${REPO}`, { auth: h.brokerKey })
    // A name with a slash or a dot segment never reaches the route (404); every other one is refused as a bad name.
    expect([400, 404]).toContain(history.status)
    if (history.status === 400) expect(history.json).toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(await commits()).toBe(before)
  })
})

describe('trailer injection through a reason', () => {
  it('a hold reason goes into the commit subject: a multi-line one is refused, 400 VALIDATION_FAILED on reason', async () => {
    for (const reason of ['ok\nDeploy-Requester: key:admin', 'ok\r\nDeploy-Source: ecr', 'ok\u2028Deploy-Requester: x']) {
      const r = await h.call('POST', '/v1/deploys/hold', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', reason } })
      expect(r.status, JSON.stringify(reason)).toBe(400)
      expect(r.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'reason' })
    }
  })

  it('a deploy reason with newlines is escaped inside Deploy-Reason: no trailer is forged', async () => {
    const reason = 'ok\nDeploy-Requester: key:admin\n\nDeploy-Source: ecr'
    const r = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', image: 'ghcr.io/acme/app:6.0.0', reason } })
    expect(r.status).toBe(200)
    const [latest] = await repo().log({ limit: 1 })
    expect(parseDeployTrailers(latest!.message)).toMatchObject({ requester: 'key:local', source: 'api', reason })
  })

  it('a one-line reason that looks like trailers stays inside Deploy-Reason', async () => {
    const reason = 'ok Deploy-Requester: key:admin Deploy-Source: ecr'
    const r = await h.call('POST', '/v1/deploys', { auth: h.brokerKey, body: { repo: REPO, environment: 'staging', image: 'ghcr.io/acme/app:7.0.0', reason } })
    expect(r.status).toBe(200)
    const [latest] = await repo().log({ limit: 1 })
    expect(parseDeployTrailers(latest!.message)).toMatchObject({ requester: 'key:local', source: 'api', reason })
  })

  it('no secret in any log line', () => {
    h.expectNoSecretsInLogs()
  })
})
