import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { RecentDeploys } from '../../../functions/lib/deploys/recent.js'
import { parseDeployTrailers } from '../../../functions/lib/deploys/trailers.js'
import { DependencyUnavailableError } from '../../../functions/lib/errors.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { createEventsHandler, type EventsDeps } from '../../../functions/events/app.js'
import { loadMapping } from '../../../functions/events/mapping.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/eventbridge/${name}.json`, import.meta.url), 'utf8'))
const mapping = loadMapping(JSON.parse(readFileSync(new URL('../../../config/deploy-mapping.json', import.meta.url), 'utf8')))
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'

let gh: TestGithosted
let client: Client
const lines: Array<Record<string, unknown>> = []
const logger = createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) })

beforeAll(async () => {
  gh = await startTestGithosted()
  client = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
})
afterAll(async () => {
  await gh?.close()
})

const repo = () => client.repo('deploy-configs')
const image = async (env: string) => JSON.parse((await repo().read(`environments/${env}.json`)).content).image
const commits = async (env: string) => (await repo().log({ path: `environments/${env}.json`, limit: 100 })).length

/** A handler as a fresh Lambda container would have it (empty in-process memory). */
function freshContainer(extra: Partial<EventsDeps> = {}) {
  return createEventsHandler({ mapping, repos: async (r) => client.repo(r), logger, recent: new RecentDeploys(), ...extra })
}

describe('events handler with real ECR event fixtures', () => {
  beforeEach(() => {
    lines.length = 0
  })

  it('deploys a mapped push, once, and ignores a duplicate delivery', async () => {
    const before = await commits('staging')
    const first = await freshContainer()(fixture('ecr-push-v1.4.2'))
    expect(first).toMatchObject({ status: 'processed', targets: [{ environment: 'staging', outcome: 'committed' }] })
    expect(await image('staging')).toBe(`${REGISTRY}/acme/app:v1.4.2`)
    const [latest] = await repo().log({ path: 'environments/staging.json', limit: 1 })
    expect(latest!.subject).toBe(`Deploy ${REGISTRY}/acme/app:v1.4.2 to staging`)
    expect(parseDeployTrailers(latest!.message)).toMatchObject({
      source: 'event',
      eventId: '13cde686-328b-6117-af20-0e5566167482',
      eventTime: '2026-03-12T19:04:10.000Z',
      imageDigest: 'sha256:7f5b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
      requester: 'ecr:123456789012/eu-west-1/acme/app',
    })
    // Redelivered to another container (no shared memory): the history says it is done.
    const again = await freshContainer()(fixture('ecr-push-v1.4.2'))
    expect(again.targets[0]).toMatchObject({ outcome: 'duplicate', commit: first.targets[0]!.commit })
    expect(await commits('staging')).toBe(before + 1)
  })

  it('never regresses the image on an out-of-order older event', async () => {
    const before = await commits('staging')
    const r = await freshContainer()(fixture('ecr-push-v1.4.1-older'))
    expect(r.targets[0]).toMatchObject({ outcome: 'skipped' })
    expect(r.targets[0]!.reason).toMatch(/newer change/)
    expect(await image('staging')).toBe(`${REGISTRY}/acme/app:v1.4.2`)
    expect(await commits('staging')).toBe(before)
  })

  it('changes nothing in a held environment and logs why', async () => {
    await repo().write('holds/staging.json', JSON.stringify({ reason: 'incident 42', by: 'alice' }), { message: 'Hold staging' })
    const newer = { ...fixture('ecr-push-v1.4.2'), id: '5d2e8f1a-7c3b-4e9d-a6f0-b1c2d3e4f5a6', time: '2026-03-12T20:00:00Z' }
    newer.detail = { ...newer.detail, 'image-tag': 'v1.5.0' }
    const before = await commits('staging')
    const r = await freshContainer()(newer)
    expect(r.targets[0]).toMatchObject({ outcome: 'skipped' })
    expect(r.targets[0]!.reason).toContain('incident 42')
    expect(await image('staging')).toBe(`${REGISTRY}/acme/app:v1.4.2`)
    expect(await commits('staging')).toBe(before)
    expect(lines.some((l) => l.message === 'deploy skipped: environment is held')).toBe(true)
    await repo().delete('holds/staging.json', { message: 'Release staging' })
  })

  it('drops unmapped repositories, untagged pushes for tag mappings and non-push actions', async () => {
    const h = freshContainer()
    expect(await h(fixture('ecr-push-unmapped'))).toMatchObject({ status: 'unmapped' })
    expect(await h(fixture('ecr-push-untagged'))).toMatchObject({ status: 'unmapped' })
    expect(await h(fixture('ecr-delete'))).toMatchObject({ status: 'ignored' })
    expect(lines.filter((l) => l.message === 'event dropped: unmapped')).toHaveLength(2)
  })

  it('rejects malformed events without throwing (so Lambda does not retry them)', async () => {
    const h = freshContainer()
    const r = await h(fixture('malformed-missing-detail'))
    expect(r).toMatchObject({ status: 'rejected', eventId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' })
    expect(r.reason).toMatch(/"detail" must be an object/)
    const badDigest = fixture('ecr-push-v1.4.2')
    badDigest.detail['image-digest'] = 'sha256:../../etc'
    expect(await h(badDigest)).toMatchObject({ status: 'rejected' })
    expect(await h('not an event')).toMatchObject({ status: 'rejected' })
    const traversal = fixture('deploy-requested')
    traversal.detail.environment = '../secrets'
    expect(await h(traversal)).toMatchObject({ status: 'rejected' })
    expect(lines.filter((l) => l.message === 'event rejected: malformed (not retried)')).toHaveLength(4)
  })

  it('applies a custom deploy request with its requester and idempotency key', async () => {
    const r = await freshContainer()(fixture('deploy-requested'))
    expect(r.targets[0]).toMatchObject({ environment: 'production', outcome: 'committed' })
    const [latest] = await repo().log({ path: 'environments/production.json', limit: 1 })
    expect(parseDeployTrailers(latest!.message)).toMatchObject({ requester: 'event:123456789012/release-bot', idempotencyKey: 'release-1.4.2', reason: 'scheduled release' })
    const outside = fixture('deploy-requested')
    outside.detail.environment = 'qa'
    expect(await freshContainer()(outside)).toMatchObject({ status: 'unmapped' })
  })

  it('throws on a failure a retry may fix, so Lambda retries and then the DLQ takes over', async () => {
    const h = freshContainer({
      repos: async () => {
        throw new DependencyUnavailableError('Secrets Manager is not reachable')
      },
    })
    const event = { ...fixture('ecr-push-v1.4.2'), id: 'aa11bb22-cc33-4d44-8e55-ff6677889900', time: '2026-03-12T21:00:00Z' }
    await expect(h(event)).rejects.toThrow(/1 of 1 target\(s\) failed; first: Secrets Manager is not reachable/)
  })

  it('against a server without full messages, a redelivery still makes no second commit', async () => {
    gh.setCompat(true)
    try {
      const event = { ...fixture('ecr-push-v1.4.2'), id: 'dd44ee55-ff66-4a77-8b88-99aabbccddee', time: '2026-03-12T22:00:00Z' }
      event.detail = { ...event.detail, 'image-tag': 'v1.6.0' }
      const before = await commits('staging')
      expect((await freshContainer()(event)).targets[0]).toMatchObject({ outcome: 'committed' })
      expect((await freshContainer()(event)).targets[0]).toMatchObject({ outcome: 'unchanged' })
      expect(await commits('staging')).toBe(before + 1)
    } finally {
      gh.setCompat(false)
    }
  })
})
