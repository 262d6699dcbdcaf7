/**
 * The auto-promotion schedule: an EventBridge "Scheduled Event" (real shape,
 * fixture) makes the events function run the mapping's autoPromote paths
 * through the promotion core, against the local githosted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { createEventsHandler } from '../../../functions/events/app.js'
import { loadMapping } from '../../../functions/events/mapping.js'
import { parseEvent } from '../../../functions/events/parse.js'
import { ConfigError } from '../../../functions/lib/errors.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadEventFixture } from '../../fixtures/eventbridge/index.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'

const DIGEST = `sha256:${'ab'.repeat(32)}`
let gh: TestGithosted
let client: Client
const repo = () => client.repo('deploy-configs')
const read = async (env: string) => JSON.parse((await repo().read(`environments/${env}.json`)).content) as Record<string, unknown>
const commits = async (env: string) => (await repo().log({ path: `environments/${env}.json`, limit: 100 })).length

beforeAll(async () => {
  gh = await startTestGithosted()
  client = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  const head = (await repo().read('environments/staging.json')).headSha
  const staging = { ...(await read('staging')), image: 'ghcr.io/acme/app:1.7.0', imageDigest: DIGEST }
  await repo().write('environments/staging.json', `${JSON.stringify(staging, null, 2)}\n`, { message: 'Pin staging', expectedHead: head })
})
afterAll(async () => {
  await gh?.close()
})

const handler = (autoPromote: unknown[]) =>
  createEventsHandler({
    mapping: loadMapping({ ecr: [], deployRequests: [], autoPromote }),
    repos: async (r) => client.repo(r),
    logger: createLogger({ sink: () => {} }),
  })

describe('scheduled auto-promotion', () => {
  it('recognizes the scheduled event shape', () => {
    expect(parseEvent(loadEventFixture('scheduled-event'))).toMatchObject({ kind: 'schedule', id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa' })
  })

  it('holds back while a gate has not passed, then promotes once, by digest, and not again', async () => {
    const event = loadEventFixture('scheduled-event')
    const waiting = await handler([{ repo: 'deploy-configs', from: 'staging', to: 'production', minSoak: '1h' }])(event)
    expect(waiting.targets).toEqual([expect.objectContaining({ environment: 'production', outcome: 'skipped', reason: expect.stringMatching(/3600 s in staging/) })])
    expect((await read('production')).image).toBe('ghcr.io/acme/app:1.0.0')

    const before = await commits('production')
    const path = [{ repo: 'deploy-configs', from: 'staging', to: 'production' }]
    const done = await handler(path)(event)
    expect(done.targets).toEqual([expect.objectContaining({ environment: 'production', outcome: 'committed' })])
    expect(await read('production')).toMatchObject({ image: 'ghcr.io/acme/app:1.7.0', imageDigest: DIGEST })
    expect(await commits('production')).toBe(before + 1)

    // The next tick finds the value in place: no second commit.
    const again = await handler(path)(event)
    expect(again.targets[0]).toMatchObject({ outcome: 'unchanged' })
    expect(await commits('production')).toBe(before + 1)
  })

  it('refuses a broken autoPromote entry when the mapping loads', () => {
    for (const bad of [
      [{ repo: 'deploy-configs', from: 'staging', to: 'staging' }],
      [{ repo: 'deploy-configs', from: 'staging', to: 'production', minSoak: 'soon' }],
      [{ repo: 'deploy-configs', from: 'staging', to: 'production', requireChecks: ['bad check'] }],
      [{ repo: 'deploy-configs', from: 'staging', to: 'production', extra: 1 }],
    ]) {
      expect(() => loadMapping({ ecr: [], deployRequests: [], autoPromote: bad })).toThrow(ConfigError)
    }
  })
})
