/**
 * The deploy core with coordination (coordination.ts), using the in-process
 * stand-ins of the shared stores: the same rules the DynamoDB stores give
 * across containers (test/local/instances/ checks those), checked here on
 * the core alone, against a server that ignores expectedHead.
 */
import { describe, expect, it } from 'vitest'
import { type ApplyDeps, type ApplyRequest, applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { inProcessCoordination } from '../../../../functions/lib/deploys/coordination.js'
import { IdempotencyKeyReusedError } from '../../../../functions/lib/deploys/errors.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { FakeRepo } from './fake-repo.js'

const PROD = 'environments/production.json'
const prod = '{\n  "image": "ghcr.io/acme/app:1.4.1",\n  "replicas": 2\n}\n'

function setup() {
  const repo = new FakeRepo({ [PROD]: prod }, { mode: 'compat' })
  const coordination = inProcessCoordination<Awaited<ReturnType<typeof applyConfigUpdate>>>()
  // A fresh in-process memory per call: only the coordination is shared, as between containers.
  const deps = (): ApplyDeps => ({ repo, repoName: 'deploy-configs', recent: new RecentDeploys(), coordination })
  const apply = (r: Partial<ApplyRequest> & Pick<ApplyRequest, 'change'>) =>
    applyConfigUpdate(deps(), { environment: 'production', source: 'api', requester: 'key:ci', ...r })
  return { repo, apply }
}

describe('applyConfigUpdate with coordination', () => {
  it('serializes concurrent deploys under the repo lease: no repairs, every key lands', async () => {
    const { repo, apply } = setup()
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => apply({ change: { set: { [`/k${i}`]: i } } })))
    expect(results.every((r) => r.changed && r.repairs === 0)).toBe(true)
    const doc = JSON.parse((await repo.read(PROD)).content) as Record<string, number>
    for (let i = 0; i < 8; i++) expect(doc[`k${i}`]).toBe(i)
  })

  it('replays an idempotency key from the shared records, with no new commit, and refuses it for another change', async () => {
    const { repo, apply } = setup()
    const first = await apply({ change: { image: 'ghcr.io/acme/app:1.4.2' }, idempotencyKey: 'k1' })
    await apply({ change: { image: 'ghcr.io/acme/app:1.4.3' } })
    const head = (await repo.log({ limit: 1 }))[0]!.sha
    const again = await apply({ change: { image: 'ghcr.io/acme/app:1.4.2' }, idempotencyKey: 'k1' })
    expect(again).toMatchObject({ replayed: true, commit: first.commit })
    expect((await repo.log({ limit: 1 }))[0]!.sha).toBe(head)
    await expect(apply({ change: { image: 'ghcr.io/acme/app:9.9.9' }, idempotencyKey: 'k1' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError)
  })

  it('skips an event older than the shared mark, even without any in-process memory of it', async () => {
    const { apply } = setup()
    await apply({ change: { image: 'ghcr.io/acme/app:1.4.2' }, source: 'event', eventId: 'e2', eventTime: '2026-03-12T19:04:10Z' })
    const late = await apply({ change: { image: 'ghcr.io/acme/app:1.4.1' }, source: 'event', eventId: 'e1', eventTime: '2026-03-12T18:00:00Z' })
    expect(late).toMatchObject({ changed: false, skipped: 'stale-event' })
  })
})
