import { describe, expect, it } from 'vitest'
import { type ApplyDeps, type ApplyRequest, applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { changedLineCount } from '../../../../functions/lib/deploys/diff.js'
import { ConfigFileInvalidError, DeployConflictError, EnvironmentHeldError, IdempotencyKeyReusedError } from '../../../../functions/lib/deploys/errors.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { parseDeployTrailers } from '../../../../functions/lib/deploys/trailers.js'
import { NotFoundAppError, ValidationError } from '../../../../functions/lib/errors.js'
import { FakeRepo } from './fake-repo.js'

const PROD = 'environments/production.json'
const prod = '{\n  "image": "ghcr.io/acme/app:1.4.1",\n  "replicas": 2\n}\n'

function setup(mode: 'enforce' | 'compat' = 'enforce', files: Record<string, string> = { [PROD]: prod }, seedValue = 1) {
  const repo = new FakeRepo(files, { mode })
  let seed = seedValue
  const deps: ApplyDeps = {
    repo,
    repoName: 'deploy-configs',
    recent: new RecentDeploys(),
    // Deterministic jitter and no real waiting: interleaving comes from the fake's ticks.
    random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647),
    sleep: async (ms) => {
      for (let i = 0; i < Math.ceil(ms / 20); i++) await new Promise((r) => setImmediate(r))
    },
    clock: () => new Date('2026-03-01T12:00:00Z'),
  }
  const apply = (r: Partial<ApplyRequest> & Pick<ApplyRequest, 'change'>, extra: Partial<ApplyDeps> = {}) =>
    applyConfigUpdate({ ...deps, ...extra }, { environment: 'production', source: 'api', requester: 'key:ci-legacy', ...r })
  return { repo, deps, apply }
}

describe('applyConfigUpdate', () => {
  it('deploys an image as a one-line change with a readable subject and trailers', async () => {
    const { repo, apply } = setup()
    const r = await apply({
      change: { image: 'ghcr.io/acme/app:1.4.2' },
      runUrl: 'https://github.com/acme/app/actions/runs/1',
      idempotencyKey: 'run-1',
    })
    expect(r).toMatchObject({ changed: true, previous: { '/image': 'ghcr.io/acme/app:1.4.1' }, current: { '/image': 'ghcr.io/acme/app:1.4.2' } })
    expect(r.commit).toBe(repo.head)
    const after = repo.fileAt(PROD)!
    expect(changedLineCount(prod, after)).toEqual({ removed: 1, added: 1 })
    const [latest] = repo.history(PROD)
    expect(latest!.message.split('\n')[0]).toBe('Deploy ghcr.io/acme/app:1.4.2 to production')
    expect(parseDeployTrailers(latest!.message)).toMatchObject({
      environment: 'production',
      source: 'api',
      requester: 'key:ci-legacy',
      runUrl: 'https://github.com/acme/app/actions/runs/1',
      idempotencyKey: 'run-1',
      eventTime: '2026-03-01T12:00:00.000Z',
      changes: [{ pointer: '/image', previous: 'ghcr.io/acme/app:1.4.1', current: 'ghcr.io/acme/app:1.4.2' }],
    })
  })

  it('makes no commit when the change is already in place', async () => {
    const { repo, apply } = setup()
    const r = await apply({ change: { set: { '/replicas': 2 } } })
    expect(r).toMatchObject({ changed: false, commit: repo.head, previous: { '/replicas': 2 }, current: { '/replicas': 2 } })
    expect(repo.writes).toBe(0)
  })

  it('applies the same idempotency key once, from history even in a fresh process', async () => {
    const { repo, apply } = setup()
    const first = await apply({ change: { image: 'app:2' }, idempotencyKey: 'k1' })
    // Someone changes the image afterwards; a late retry of k1 must not undo that.
    repo.put(PROD, prod.replace('1.4.1', '9.9.9'))
    const again = await apply({ change: { image: 'app:2' }, idempotencyKey: 'k1' }, { recent: new RecentDeploys() })
    expect(again).toMatchObject({ commit: first.commit, replayed: true })
    expect(JSON.parse(repo.fileAt(PROD)!).image).toBe('ghcr.io/acme/app:9.9.9')
    await expect(apply({ change: { image: 'app:3' }, idempotencyKey: 'k1' }, { recent: new RecentDeploys() })).rejects.toThrow(
      IdempotencyKeyReusedError,
    )
  })

  it('shares one write between concurrent deliveries of the same event in one process', async () => {
    const { repo, apply } = setup()
    const req = { source: 'event' as const, change: { image: 'app:2' }, eventId: 'ev-1', eventTime: '2026-03-01T11:00:00Z' }
    const results = await Promise.all([apply(req), apply(req), apply(req)])
    expect(repo.writes).toBe(1)
    expect(new Set(results.map((r) => r.commit)).size).toBe(1)
  })

  it('never lets an older event overwrite a newer one, and says why', async () => {
    const { repo, apply } = setup()
    await apply({ source: 'event', change: { image: 'app:new' }, eventId: 'e2', eventTime: '2026-03-01T10:00:00Z' })
    const old = await apply(
      { source: 'event', change: { image: 'app:old' }, eventId: 'e1', eventTime: '2026-03-01T09:59:00Z' },
      { recent: new RecentDeploys() },
    )
    expect(old).toMatchObject({ changed: false, skipped: 'stale-event' })
    expect(JSON.parse(repo.fileAt(PROD)!).image).toBe('app:new')
    // An explicit deploy still applies (explicit requests are not ordered by event time).
    const explicit = await apply({ change: { image: 'app:old' } })
    expect(explicit.changed).toBe(true)
  })

  it('respects holds: events skip, explicit deploys need an override', async () => {
    const hold = JSON.stringify({ reason: 'incident 42', by: 'alice', at: '2026-03-01T00:00:00Z' })
    const { repo, apply } = setup('enforce', { [PROD]: prod, 'holds/production.json': hold })
    const ev = await apply({ source: 'event', change: { image: 'app:2' }, eventId: 'e', eventTime: '2026-03-01T10:00:00Z' })
    expect(ev).toMatchObject({ changed: false, skipped: 'held' })
    expect(ev.reason).toContain('incident 42')
    await expect(apply({ change: { image: 'app:2' } })).rejects.toThrow(EnvironmentHeldError)
    expect(repo.writes).toBe(0)
    const forced = await apply({ change: { image: 'app:2' }, overrideHold: true })
    expect(forced.changed).toBe(true)
    expect(parseDeployTrailers(repo.history(PROD)[0]!.message)?.reason).toContain('overrides hold')
  })

  it('returns a diff for a dry run and writes nothing', async () => {
    const { repo, apply } = setup()
    const r = await apply({ change: { set: { '/replicas': 3 } }, dryRun: true })
    expect(r).toMatchObject({ dryRun: true, changed: false, current: { '/replicas': 3 } })
    expect(r.diff).toContain('-  "replicas": 2\n+  "replicas": 3')
    expect(repo.writes).toBe(0)
  })

  it('answers bad input with clear errors and writes nothing', async () => {
    const { repo, apply } = setup('enforce', { [PROD]: prod, 'environments/broken.json': '{"image": "x",' })
    await expect(apply({ environment: 'broken', change: { image: 'a:1' } })).rejects.toThrow(ConfigFileInvalidError)
    await expect(apply({ environment: 'broken', change: { image: 'a:1' } })).rejects.toThrow(/environments\/broken.json in deploy-configs is not valid JSON/)
    await expect(apply({ environment: 'qa', change: { image: 'a:1' } })).rejects.toThrow(NotFoundAppError)
    await expect(apply({ change: { set: { '/image/tag': 'x' } } })).rejects.toThrow(/non-object value at \/image/)
    await expect(apply({ change: { set: { '/notes': 'x'.repeat(20_000) } } })).rejects.toThrow(/larger than 16384 bytes/)
    await expect(apply({ change: { image: 'a'.repeat(600) } })).rejects.toThrow(ValidationError)
    for (const env of ['../secrets', 'a/b', '..', '.hidden', 'prod\u0000', '']) {
      await expect(apply({ environment: env, change: { image: 'a:1' } })).rejects.toThrow(ValidationError)
    }
    await expect(apply({ change: { set: { 'image': 1 } } })).rejects.toThrow(/must start with "\/"/)
    await expect(apply({ change: { set: { '/a': 1, '/a/b': 2 } } })).rejects.toThrow(/overlap/)
    await expect(apply({ change: { image: 'a:1', set: { '/a': 1 } } as never })).rejects.toThrow(/exactly one/)
    expect(repo.writes).toBe(0)
  })

  it('validates the result against the repo\'s JSON Schema', async () => {
    const schema = JSON.stringify({ type: 'object', required: ['image'], properties: { replicas: { type: 'integer', minimum: 1 } } })
    const { repo, apply } = setup('enforce', { [PROD]: prod, 'schemas/environment.schema.json': schema })
    await expect(apply({ change: { set: { '/replicas': 0 } } })).rejects.toThrow(/violate schemas\/environment.schema.json: \/replicas: less than 1/)
    expect(repo.writes).toBe(0)
    expect((await apply({ change: { set: { '/replicas': 4 } } })).changed).toBe(true)
  })

  it('reads the schema together with the hold and the history, not after them', async () => {
    const schema = JSON.stringify({ type: 'object', properties: { replicas: { type: 'integer', minimum: 1 } } })
    const { repo, apply } = setup('enforce', { [PROD]: prod, 'schemas/environment.schema.json': schema })
    const inFlight = new Set<string>()
    let widest: string[] = []
    const track = <A extends unknown[], T>(name: (...a: A) => string, fn: (...a: A) => Promise<T>) =>
      async (...a: A): Promise<T> => {
        const id = name(...a)
        inFlight.add(id)
        if (inFlight.size > widest.length) widest = [...inFlight]
        try {
          return await fn(...a)
        } finally {
          inFlight.delete(id)
        }
      }
    repo.read = track((path) => `read ${path}`, repo.read.bind(repo))
    repo.log = track(() => 'log', repo.log.bind(repo))
    expect((await apply({ change: { set: { '/replicas': 3 } } })).changed).toBe(true)
    expect(widest).toContain('read schemas/environment.schema.json')
    expect(widest).toContain('log')
    expect(widest.length).toBeGreaterThanOrEqual(3)
    // A schema read that fails does not go unhandled when the deploy returns before needing it.
    repo.read = async (path, options) => {
      if (path.startsWith('schemas/')) throw new Error('schema read failed')
      return FakeRepo.prototype.read.call(repo, path, options)
    }
    expect((await apply({ change: { set: { '/replicas': 3 } } })).changed).toBe(false)
    await expect(apply({ change: { set: { '/replicas': 5 } } })).rejects.toThrow('schema read failed')
  })

  it('falls back to value comparison when Log has no full messages', async () => {
    const { repo, apply } = setup()
    repo.fullMessages = false
    await apply({ change: { image: 'app:2' }, idempotencyKey: 'k' })
    const again = await apply({ change: { image: 'app:2' }, idempotencyKey: 'k' }, { recent: new RecentDeploys() })
    expect(again.changed).toBe(false)
    expect(repo.writes).toBe(1)
  })
})

describe.each([
  ['enforce', true],
  ['compat', true],
  ['compat', false],
] as const)('concurrency against a %s server (full messages in Log: %s)', (mode, fullMessages) => {
  it('20 concurrent deploys to different keys of one file all land', async () => {
    const { repo, apply } = setup(mode)
    repo.fullMessages = fullMessages
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => apply({ change: { set: { [`/services/s${i}`]: `img:${i}` } } })))
    expect(results.every((r) => r.changed)).toBe(true)
    const final = JSON.parse(repo.fileAt(PROD)!)
    for (let i = 0; i < 20; i++) expect(final.services[`s${i}`]).toBe(`img:${i}`)
    expect(final.image).toBe('ghcr.io/acme/app:1.4.1')
    if (mode === 'enforce') expect(repo.history(PROD).length).toBe(21)
    else expect(results.some((r) => r.repairs > 0)).toBe(true)
  })

  it('20 concurrent deploys to the same key: one value wins, every other is a conflict or a no-op', async () => {
    const { repo, apply } = setup(mode)
    repo.fullMessages = fullMessages
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => apply({ change: { image: `app:${i}` } })))
    const ok = settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<{ changed: boolean; current: Record<string, unknown> }>).value)
    const failed = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason)
    expect(failed.every((e) => e instanceof DeployConflictError)).toBe(true)
    const final = JSON.parse(repo.fileAt(PROD)!)
    const winners = ok.filter((r) => r.changed)
    expect(winners).toHaveLength(1)
    expect(final.image).toBe(winners[0]!.current['/image'])
    expect(final.replicas).toBe(2)
    expect(ok.length + failed.length).toBe(20)
  })
})

describe('against a server that ignores expectedHead', () => {
  it('restores another writer\'s change that our write clobbered', async () => {
    const { repo, deps } = setup('compat')
    // An outside writer lands between our read and our write.
    const read = repo.read.bind(repo)
    let once = true
    repo.read = async (path, options) => {
      const r = await read(path, options)
      if (once && path === PROD && !options?.ref) {
        once = false
        repo.put(PROD, prod.replace('"replicas": 2', '"replicas": 7'))
      }
      return r
    }
    const r = await applyConfigUpdate(deps, { environment: 'production', source: 'api', change: { image: 'app:2' } })
    expect(r).toMatchObject({ changed: true, repairs: 1 })
    expect(JSON.parse(repo.fileAt(PROD)!)).toEqual({ image: 'app:2', replicas: 7 })
    expect(repo.history(PROD)[0]!.message).toMatch(/^Restore changes to production overwritten by/)
    expect(parseDeployTrailers(repo.history(PROD)[0]!.message)).toMatchObject({ source: 'repair', changes: [{ pointer: '/replicas', previous: 2, current: 7 }] })
  })

  it('reverts our change and reports a conflict when the clobbered writer set the same key', async () => {
    const { repo, deps } = setup('compat')
    const read = repo.read.bind(repo)
    let once = true
    repo.read = async (path, options) => {
      const r = await read(path, options)
      if (once && path === PROD && !options?.ref) {
        once = false
        repo.put(PROD, prod.replace('1.4.1', '7.7.7'))
      }
      return r
    }
    const err = await applyConfigUpdate(deps, { environment: 'production', source: 'api', change: { image: 'app:2' } }).catch((e) => e)
    expect(err).toBeInstanceOf(DeployConflictError)
    expect(err.conflicts).toEqual([{ pointer: '/image', ours: 'app:2', theirs: 'ghcr.io/acme/app:7.7.7', base: 'ghcr.io/acme/app:1.4.1' }])
    expect(JSON.parse(repo.fileAt(PROD)!).image).toBe('ghcr.io/acme/app:7.7.7')
    expect(repo.history(PROD)[0]!.message).toMatch(/^Revert [0-9a-f]{12}: conflicting deploy to production/)
  })
})

describe('no lost updates across interleavings (seeded jitter, compat server)', () => {
  it.each([true, false])('holds for 8 different interleavings (full messages: %s)', async (fullMessages) => {
    for (let s = 2; s < 10; s++) {
      const { repo, apply } = setup('compat', { [PROD]: prod }, s * 7919)
      repo.fullMessages = fullMessages
      const keys = Promise.all(Array.from({ length: 10 }, (_, i) => apply({ change: { set: { [`/k${i}`]: i } } })))
      const same = Promise.allSettled(Array.from({ length: 10 }, (_, i) => apply({ change: { image: `app:${i}` } })))
      const [, sameResults] = await Promise.all([keys, same])
      const final = JSON.parse(repo.fileAt(PROD)!)
      for (let i = 0; i < 10; i++) expect(final[`k${i}`]).toBe(i)
      const winners = sameResults.filter((r) => r.status === 'fulfilled' && r.value.changed)
      expect(winners).toHaveLength(1)
      expect(final.image).toBe((winners[0] as PromiseFulfilledResult<{ current: Record<string, unknown> }>).value.current['/image'])
      for (const r of sameResults) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DeployConflictError)
    }
  })
})
