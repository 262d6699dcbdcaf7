/**
 * POST /v1/promotions (and POST /v1/deploys/verify) end to end over real
 * HTTP: the deploy app on a socket, broker-key authentication, a real
 * policy with promote paths, scoped gr_ tokens, the local githosted server,
 * and the shared state (lease, idempotency) on dynalite. ECR pushes go
 * through the real events handler. Runs against every githosted profile
 * (vitest.config.ts); lineage needs full commit messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { createAuthenticator } from '../../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../../functions/lib/auth/replay.js'
import { sharedCoordination } from '../../../functions/lib/deploys/coordination.js'
import type { PromotionSettings } from '../../../functions/lib/deploys/digest.js'
import { RecentDeploys } from '../../../functions/lib/deploys/recent.js'
import { parseDeployTrailers } from '../../../functions/lib/deploys/trailers.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { createTokenBucketLimiter } from '../../../functions/lib/limits/rate-limiter.js'
import { loadPolicy } from '../../../functions/lib/policy/index.js'
import { staticSecret } from '../../../functions/lib/secrets/source.js'
import type { StatusReport } from '../../../functions/lib/status/types.js'
import { createStatusApp } from '../../../functions/status/app.js'
import { readClientFactory } from '../../../functions/status/deps.js'
import { createEventsHandler } from '../../../functions/events/app.js'
import { loadMapping } from '../../../functions/events/mapping.js'
import { findSecrets } from '../../setup/secret-patterns.js'
import { profileNamed } from '../../../local/githosted/profiles.js'
import { gitMessage, plainSubject, startTestGithosted, testProfile, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'
import { startTestState, type TestState } from '../../helpers/state-table.js'
import { createTestDeployApp } from '../../helpers/deploy-app.js'

/** Whether Log returns full messages (trailers) in the githosted profile under test. */
const fullMessages = profileNamed(testProfile()).extensions
const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const C = `sha256:${'c'.repeat(64)}`

let gh: TestGithosted
let st: TestState
let served: ServedApp
let admin: Client
const lines: string[] = []
/** Moves the broker's clock (soak time) without touching the server's commit times. */
let clockOffsetMs = 0
let settings: PromotionSettings = { digest: 'field' }
const keys = { promoter: generateBrokerKey(), gated: generateBrokerKey(), checked: generateBrokerKey(), deployer: generateBrokerKey(), tester: generateBrokerKey() }

beforeAll(async () => {
  ;[gh, st] = await Promise.all([startTestGithosted(), startTestState()])
  admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  await repo().write('environments/dev.json', '{\n  "image": "ghcr.io/acme/app:1.0.0",\n  "replicas": 1\n}\n', { message: 'Add dev' })
  const grant = { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' }
  const policy = loadPolicy({
    version: 1,
    rules: [
      {
        name: 'promoter',
        match: { brokerKey: 'promoter' },
        grant: { ...grant, environments: ['dev', 'staging', 'production'], overrideHolds: true, promote: [{ from: 'staging', to: 'production' }, { from: 'dev', to: 'staging' }] },
      },
      { name: 'gated', match: { brokerKey: 'gated' }, grant: { ...grant, promote: [{ from: 'staging', to: 'production', minSoak: '30m' }] } },
      { name: 'checked', match: { brokerKey: 'checked' }, grant: { ...grant, promote: [{ from: 'staging', to: 'production', requireChecks: ['e2e', 'smoke'] }] } },
      { name: 'deployer', match: { brokerKey: 'deployer' }, grant: { ...grant, environments: ['staging', 'production'] } },
      { name: 'tester', match: { brokerKey: 'tester' }, grant: { ...grant, environments: ['staging'] } },
    ],
  })
  const logger = createLogger({ level: 'info', sink: (l) => (lines.push(l), process.stdout.write(l + '\n')) })
  const app = createTestDeployApp({
    gh,
    policy,
    logger,
    keys,
    clock: () => new Date(Date.now() + clockOffsetMs),
    coordination: sharedCoordination(st.state()),
    promotions: () => settings,
    // One test client sends all requests; the limits have their own tests.
    rateLimiter: createTokenBucketLimiter({ capacity: 1000, refillPerMinute: 1000 }),
    ipRateLimiter: createTokenBucketLimiter({ capacity: 1000, refillPerMinute: 1000 }),
  })
  served = await serveApp(app.fetch)
})

afterAll(async () => {
  await served?.close()
  await Promise.all([gh?.close(), st?.close()])
})

async function call(path: string, key: string, body: unknown) {
  const res = await fetch(`${served.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> }
}
const promote = (key: string, body: Record<string, unknown>) => call('/v1/promotions', key, { repo: 'deploy-configs', ...body })
const deploy = (key: string, body: Record<string, unknown>) => call('/v1/deploys', key, { repo: 'deploy-configs', ...body })
const verify = (key: string, body: Record<string, unknown>) => call('/v1/deploys/verify', key, { repo: 'deploy-configs', ...body })

const repo = () => admin.repo('deploy-configs')
const commitCount = async () => (await repo().log({ limit: 1000 })).length
const fileOf = async (env: string) => JSON.parse((await repo().read(`environments/${env}.json`)).content) as Record<string, unknown>
const trailersOf = (sha: string) => parseDeployTrailers(gitMessage(gh, 'deploy-configs', sha))

/** An ECR push of acme/app:<tag> with <digest>, mapped to dev with the digest written next to the image. */
function ecrPush(tag: string, digest: string, id: string) {
  const mapping = loadMapping({
    ecr: [{ ecrRepository: 'acme/app', repo: 'deploy-configs', environments: ['dev'], imageFormat: 'ghcr.io/{repository}:{tag}', writeDigest: true }],
  })
  const handler = createEventsHandler({ mapping, repos: async (r) => admin.repo(r), logger: createLogger({ level: 'warn', sink: () => {} }), recent: new RecentDeploys() })
  return handler({
    version: '0',
    id,
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: { result: 'SUCCESS', 'repository-name': 'acme/app', 'image-digest': digest, 'action-type': 'PUSH', 'image-tag': tag },
  })
}

describe('promotions', () => {
  it('copies a digest-pinned staging value into production, naming the staging commit', async () => {
    const staged = await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:2.0.0', digest: A })
    expect(staged.status).toBe(200)
    expect(await fileOf('staging')).toMatchObject({ image: 'ghcr.io/acme/app:2.0.0', imageDigest: A })
    expect(trailersOf(staged.body.commit)).toMatchObject({ source: 'api', imageDigest: A })

    const before = await commitCount()
    const r = await promote(keys.promoter, { from: 'staging', to: 'production', reason: 'release 2.0.0' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ changed: true, environment: 'production', from: { environment: 'staging', commit: staged.body.commit, digest: A } })
    expect(r.body.current).toEqual({ '/image': 'ghcr.io/acme/app:2.0.0', '/imageDigest': A })
    expect(await commitCount()).toBe(before + 1)
    expect(await fileOf('production')).toMatchObject({ image: 'ghcr.io/acme/app:2.0.0', imageDigest: A, replicas: 2 })
    const [tip] = await repo().log({ limit: 1 })
    expect(plainSubject(tip!.subject)).toBe('Promote ghcr.io/acme/app:2.0.0 from staging to production')
    expect(trailersOf(r.body.commit)).toMatchObject({
      environment: 'production',
      source: 'promotion',
      promotedFrom: `staging@${staged.body.commit}`,
      imageDigest: A,
      requester: 'key:promoter',
      reason: 'release 2.0.0',
    })
  })

  it('promotes the digest staging ran even after the tag was re-pushed (which the ECR mapping wrote to dev)', async () => {
    const pushed = await ecrPush('3.0.0', B, '11111111-2222-4333-8444-555555555555')
    expect(pushed.targets[0]).toMatchObject({ environment: 'dev', outcome: 'committed' })
    expect(await fileOf('dev')).toMatchObject({ image: 'ghcr.io/acme/app:3.0.0', imageDigest: B })
    expect((await promote(keys.promoter, { from: 'dev', to: 'staging' })).status).toBe(200)
    expect(await fileOf('staging')).toMatchObject({ image: 'ghcr.io/acme/app:3.0.0', imageDigest: B })

    // The same tag, new bytes: dev follows the tag, staging does not.
    const repushed = await ecrPush('3.0.0', C, '66666666-7777-4888-8999-aaaaaaaaaaaa')
    expect(repushed.targets[0]).toMatchObject({ environment: 'dev', outcome: 'committed' })
    expect(await fileOf('dev')).toMatchObject({ image: 'ghcr.io/acme/app:3.0.0', imageDigest: C })

    const r = await promote(keys.promoter, { from: 'staging', to: 'production' })
    expect(r.status).toBe(200)
    expect(await fileOf('production')).toMatchObject({ image: 'ghcr.io/acme/app:3.0.0', imageDigest: B })
  })

  it('writes image@digest where the repo is configured for references', async () => {
    settings = { digest: 'reference' }
    try {
      expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:3.1.0', digest: A })).status).toBe(200)
      const r = await promote(keys.promoter, { from: 'staging', to: 'production' })
      expect(r.status).toBe(200)
      // production already had an imageDigest key: it is kept equal to the pinned reference's digest.
      expect(await fileOf('production')).toMatchObject({ image: `ghcr.io/acme/app:3.1.0@${A}`, imageDigest: A })
    } finally {
      settings = { digest: 'field' }
    }
  })

  it('refuses a source without a digest unless allowTagOnly, and then clears the stale digest', async () => {
    expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:3.2.0' })).status).toBe(200)
    await repo().write('environments/staging.json', JSON.stringify({ ...(await fileOf('staging')), imageDigest: undefined }, null, 2) + '\n', { message: 'Drop the digest by hand' })
    const before = await commitCount()
    const refused = await promote(keys.promoter, { from: 'staging', to: 'production' })
    expect(refused.status).toBe(409)
    expect(refused.type).toContain('application/problem+json')
    expect(refused.body).toMatchObject({ code: 'PROMOTION_DIGEST_MISSING', gate: 'digest' })
    expect(refused.body.detail).toContain('allowTagOnly')
    expect(await commitCount()).toBe(before)

    const r = await promote(keys.promoter, { from: 'staging', to: 'production', allowTagOnly: true })
    expect(r.status).toBe(200)
    expect(await fileOf('production')).toMatchObject({ image: 'ghcr.io/acme/app:3.2.0', imageDigest: null })
  })

  it('refuses with the name of each gate: promote path, soak time, required checks', async () => {
    expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:4.0.0', digest: A })).status).toBe(200)
    const before = await commitCount()

    const noPath = await promote(keys.deployer, { from: 'staging', to: 'production' })
    expect(noPath.status).toBe(403)
    expect(noPath.body).toMatchObject({ code: 'PROMOTION_NOT_ALLOWED', gate: 'promote' })
    const wrongWay = await promote(keys.promoter, { from: 'production', to: 'staging' })
    expect(wrongWay.body).toMatchObject({ code: 'PROMOTION_NOT_ALLOWED', gate: 'promote' })
    expect(wrongWay.body.detail).toContain('staging → production')

    const young = await promote(keys.gated, { from: 'staging', to: 'production' })
    expect(young.status).toBe(409)
    expect(young.body).toMatchObject({ code: 'PROMOTION_SOAK_PENDING', gate: 'minSoak' })
    expect(Date.parse(young.body.readyAt) - Date.parse(young.body.setAt)).toBe(30 * 60 * 1000)

    const unverified = await promote(keys.checked, { from: 'staging', to: 'production' })
    expect(unverified.status).toBe(409)
    expect(unverified.body).toMatchObject({ code: 'PROMOTION_NOT_VERIFIED', gate: 'requireChecks', missing: ['e2e', 'smoke'] })
    expect(await commitCount()).toBe(before)
    expect((await fileOf('production')).image).not.toBe('ghcr.io/acme/app:4.0.0')

    clockOffsetMs = 31 * 60 * 1000
    try {
      const soaked = await promote(keys.gated, { from: 'staging', to: 'production' })
      expect(soaked.status).toBe(200)
      expect(await fileOf('production')).toMatchObject({ image: 'ghcr.io/acme/app:4.0.0', imageDigest: A })
    } finally {
      clockOffsetMs = 0
    }
  })

  it('takes recorded checks (Verified-By) on the commit that set the value, and only on that one', async () => {
    const staged = await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:4.1.0', digest: B })
    const stale = await verify(keys.tester, { environment: 'staging', commit: 'deadbeef', check: 'e2e' })
    expect(stale.status).toBe(409)
    expect(stale.body).toMatchObject({ code: 'VERIFY_COMMIT_MISMATCH', current: staged.body.commit })

    const e2e = await verify(keys.tester, { environment: 'staging', commit: staged.body.commit.slice(0, 12), check: 'e2e' })
    expect(e2e.status).toBe(200)
    expect(e2e.body).toMatchObject({ changed: true, verified: { commit: staged.body.commit, checks: { e2e: { by: 'key:tester' } } } })
    expect(trailersOf(e2e.body.commit)).toMatchObject({ environment: 'staging', source: 'verify', verifiedBy: 'e2e', verifiedCommit: staged.body.commit })
    const again = await verify(keys.tester, { environment: 'staging', check: 'e2e' })
    expect(again.body).toMatchObject({ changed: false })

    const half = await promote(keys.checked, { from: 'staging', to: 'production' })
    expect(half.body).toMatchObject({ code: 'PROMOTION_NOT_VERIFIED', missing: ['smoke'] })
    expect((await verify(keys.tester, { environment: 'staging', check: 'smoke' })).status).toBe(200)
    const r = await promote(keys.checked, { from: 'staging', to: 'production' })
    expect(r.status).toBe(200)
    expect(trailersOf(r.body.commit)).toMatchObject({ promotedFrom: `staging@${staged.body.commit}` })

    // A new value in staging starts over: the old checks do not carry.
    expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:4.2.0', digest: C })).status).toBe(200)
    expect((await promote(keys.checked, { from: 'staging', to: 'production' })).body).toMatchObject({ code: 'PROMOTION_NOT_VERIFIED', missing: ['e2e', 'smoke'] })
  })

  it('is blocked by a hold on the target', async () => {
    expect((await call('/v1/deploys/hold', keys.promoter, { repo: 'deploy-configs', environment: 'production', reason: 'freeze' })).status).toBe(200)
    try {
      const before = await commitCount()
      const r = await promote(keys.promoter, { from: 'staging', to: 'production' })
      expect(r.status).toBe(409)
      expect(r.body).toMatchObject({ code: 'ENVIRONMENT_HELD', hold: { reason: 'freeze' } })
      expect(await commitCount()).toBe(before)
      expect((await fileOf('production')).image).not.toBe('ghcr.io/acme/app:4.2.0')
    } finally {
      const res = await fetch(`${served.url}/v1/deploys/hold?repo=deploy-configs&environment=production`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.promoter}` } })
      expect(res.status).toBe(200)
    }
  })

  it('makes one commit for the same promotion twice, with or without an idempotency key', async () => {
    const before = await commitCount()
    const first = await promote(keys.promoter, { from: 'staging', to: 'production', idempotencyKey: 'promote-4.2.0' })
    expect(first.body).toMatchObject({ changed: true })
    const replay = await promote(keys.promoter, { from: 'staging', to: 'production', idempotencyKey: 'promote-4.2.0' })
    expect(replay.body).toMatchObject({ commit: first.body.commit, replayed: true })
    const plain = await promote(keys.promoter, { from: 'staging', to: 'production' })
    expect(plain.body).toMatchObject({ changed: false, commit: first.body.commit })
    expect(await commitCount()).toBe(before + 1)
  })

  it('loses nothing when two promotions and a direct deploy hit production at once', async () => {
    expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:5.0.0', digest: A })).status).toBe(200)
    expect((await deploy(keys.promoter, { environment: 'staging', set: { '/replicas': 7 } })).status).toBe(200)
    const before = await commitCount()
    const [image, replicas, direct] = await Promise.all([
      promote(keys.promoter, { from: 'staging', to: 'production' }),
      promote(keys.promoter, { from: 'staging', to: 'production', keys: ['/replicas'] }),
      deploy(keys.promoter, { environment: 'production', set: { '/env/LOG_LEVEL': 'warn' } }),
    ])
    expect([image.status, replicas.status, direct.status]).toEqual([200, 200, 200])
    expect(await fileOf('production')).toMatchObject({ image: 'ghcr.io/acme/app:5.0.0', imageDigest: A, replicas: 7, env: { LOG_LEVEL: 'warn' } })
    expect(await commitCount()).toBe(before + 3)
  })

  it('shows lineage in /v1/status and its history, and a rollback names what it goes back to', async () => {
    const statusKey = generateBrokerKey()
    const readToken = await gh.createToken({ kind: 'repo', permission: 'read', repoAllowlist: ['deploy-configs'], name: 'dashboard' })
    const status = createStatusApp({
      readToken: staticSecret(readToken),
      githosted: readClientFactory(gh.url),
      authenticator: createAuthenticator({ brokerKeys: () => [{ name: 'viewer', sha256: hashBrokerKey(statusKey) }], replayStore: new MemoryReplayStore() }),
      repos: ['deploy-configs'],
      logger: createLogger({ sink: () => {} }),
    })
    const servedStatus = await serveApp(status.fetch)
    try {
      const staged = await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:6.0.0', digest: B })
      const promoted = await promote(keys.promoter, { from: 'staging', to: 'production' })
      const res = await fetch(`${servedStatus.url}/v1/status?history=3`, { headers: { authorization: `Bearer ${statusKey}` } })
      expect(res.status).toBe(200)
      const report = (await res.json()) as StatusReport
      const env = (name: string) => report.environments.find((e) => e.environment === name)!
      if (fullMessages) {
        expect(env('production').lineage).toMatchObject({
          commit: promoted.body.commit,
          source: 'promotion',
          by: 'key:promoter',
          digest: B,
          promotedFrom: { environment: 'staging', commit: staged.body.commit, shortSha: staged.body.commit.slice(0, 7) },
        })
        expect(env('staging').lineage).toMatchObject({ commit: staged.body.commit, source: 'api', digest: B })
        expect(env('staging').lineage!.promotedFrom).toBeUndefined()
        expect(env('production').history![0]).toMatchObject({ sha: promoted.body.commit, source: 'promotion', promotedFrom: { environment: 'staging', commit: staged.body.commit } })
      } else {
        // Without full messages nothing says how a value was set: unknown, never guessed.
        expect(env('production').lineage).toBeNull()
        expect(env('production').history![0]).toMatchObject({ sha: promoted.body.commit })
        expect(env('production').history![0]!.promotedFrom).toBeUndefined()
      }

      // Roll production back past this promotion: the answer names the promotion it goes back to.
      const back = await deploy(keys.promoter, { environment: 'production', image: 'ghcr.io/acme/app:6.0.1' })
      expect(back.status).toBe(200)
      const rb = await call('/v1/deploys/rollback', keys.promoter, { repo: 'deploy-configs', environment: 'production' })
      expect(rb.status).toBe(200)
      // The restored value's origin is found by content on every server; how it got there needs the trailers.
      expect(rb.body.rolledBackToOrigin.commit).toBe(promoted.body.commit)
      const [tip] = await repo().log({ limit: 1 })
      if (fullMessages) {
        expect(rb.body).toMatchObject({ rolledBackToOrigin: { source: 'promotion', promotedFrom: `staging@${staged.body.commit}` } })
        expect(plainSubject(tip!.subject)).toBe(`Roll back production to ghcr.io/acme/app:6.0.0 (promoted from staging@${staged.body.commit.slice(0, 12)})`)
      } else {
        expect(plainSubject(tip!.subject)).toBe('Roll back production to ghcr.io/acme/app:6.0.0')
      }
    } finally {
      await servedStatus.close()
    }
  })

  it('refuses bad input with the field named and writes nothing', async () => {
    const before = await commitCount()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ from: 'staging', to: 'staging' }, 'to'],
      [{ from: '../x', to: 'production' }, 'from'],
      [{ from: 'staging', to: 'production', keys: [] }, 'keys'],
      [{ from: 'staging', to: 'production', allowTagOnly: 'yes' }, 'allowTagOnly'],
      [{ from: 'staging', to: 'production', extra: 1 }, 'extra'],
      [{ from: 'staging', to: 'production', keys: ['/nope'] }, 'keys'],
    ]
    for (const [body, field] of cases) {
      const r = await promote(keys.promoter, body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', field })
    }
    expect((await promote(keys.promoter, { from: 'qa', to: 'production' })).status).toBe(403)
    expect((await deploy(keys.promoter, { environment: 'staging', set: { '/replicas': 1 }, digest: A })).body).toMatchObject({ field: 'digest' })
    expect((await deploy(keys.promoter, { environment: 'staging', image: 'ghcr.io/acme/app:1', digest: 'sha256:xyz' })).body).toMatchObject({ field: 'digest' })
    expect(await commitCount()).toBe(before)
  })

  it('never writes a broker key into its logs', () => {
    const found = findSecrets(lines.join('\n'))
    expect(found).toEqual([])
    expect(lines.some((l) => l.includes('"event":"deploy.promote"'))).toBe(true)
  })
})
