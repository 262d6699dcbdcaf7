import { describe, expect, it } from 'vitest'
import { formatDeployMessage } from '../../../../functions/lib/deploys/trailers.js'
import { createLimiter } from '../../../../functions/lib/status/limiter.js'
import { readHead, readHistoryReport, readStatusReport } from '../../../../functions/lib/status/report.js'
import { NotFoundAppError } from '../../../../functions/lib/errors.js'
import { NotFoundError } from '../../../../functions/lib/githosted/errors.js'
import { FakeRepo } from './fake-repo.js'

const env = (image: string) => JSON.stringify({ image, replicas: 2 }, null, 2) + '\n'

function deployMessage(environment: string, previous: string, current: string, requester: string) {
  return formatDeployMessage(`Deploy ${current} to ${environment}`, {
    environment,
    source: 'api',
    changes: [{ pointer: '/image', previous, current }],
    requester,
    runUrl: 'https://github.com/acme/app/actions/runs/42',
  })
}

function seeded(options = {}) {
  const repo = new FakeRepo(options)
  repo.commit(
    { 'environments/staging.json': env('app:1.0'), 'environments/production.json': env('app:0.9') },
    'Seed deploy configs',
    'Seeder',
  )
  return repo
}

async function report(repo: FakeRepo, historyLimit = 0, concurrency = 4) {
  const limit = createLimiter(concurrency)
  const head = await readHead(repo, limit)
  return readStatusReport(repo, head, { repo: 'deploy-configs', limit, historyLimit })
}

describe('readStatusReport', () => {
  it('reports every environment at one head with image, last commit and the seed shape', async () => {
    const repo = seeded()
    repo.commit({ 'environments/staging.json': env('app:1.1') }, deployMessage('staging', 'app:1.0', 'app:1.1', 'github:acme/app'))
    const r = await report(repo)
    expect(r.headSha).toBe(repo.head)
    expect(r.problem).toBeUndefined()
    expect(r.environments.map((e) => [e.environment, e.image])).toEqual([
      ['production', 'app:0.9'],
      ['staging', 'app:1.1'],
    ])
    const staging = r.environments[1]!
    expect(staging.headSha).toBe(repo.head)
    expect(staging.updatedAt).toBe(staging.lastCommit?.committedAt)
    expect(staging.lastCommit?.trailers?.requester).toBe('github:acme/app')
    expect(staging.lastCommit?.subject).toBe('Deploy app:1.1 to staging')
    // production was last touched by the seed commit, not by the head
    expect(r.environments[0]!.lastCommit?.sha).toBe(repo.commits[1]!.sha)
    expect(r.environments[0]!.lastCommit?.trailers).toBeNull()
  })

  it('says what is wrong for a broken environment and still reports the others', async () => {
    const repo = seeded()
    repo.commit({ 'environments/broken.json': '{"image": "app:2",\n}', 'environments/noimage.json': '{"replicas": 1}' }, 'oops')
    const r = await report(repo)
    const byName = Object.fromEntries(r.environments.map((e) => [e.environment, e]))
    expect(byName.broken!.problem?.code).toBe('INVALID_JSON')
    expect(byName.broken!.problem?.message).toMatch(/^environments\/broken\.json is not valid JSON: .*line 2, column 1/)
    // the file's content is not echoed back
    expect(byName.broken!.problem?.message).not.toContain('app:2')
    expect(byName.broken!.image).toBeNull()
    expect(byName.noimage!.problem?.code).toBe('IMAGE_MISSING')
    expect(byName.staging!.image).toBe('app:1.0')
    expect(byName.staging!.problem).toBeUndefined()
  })

  it('explains an empty repo, a missing environments folder and a folder without environment files', async () => {
    const empty = new FakeRepo()
    expect((await report(empty)).problem?.code).toBe('REPO_EMPTY')

    // githosted answers Log on a repo without a default branch with not_found
    const unborn = new FakeRepo()
    unborn.log = () => Promise.reject(new NotFoundError('no branch main', { connectCode: 'not_found', procedure: 'Log' }))
    const r0 = await report(unborn)
    expect(r0.problem?.code).toBe('REPO_EMPTY')
    expect(r0.headSha).toBeNull()

    const noDir = new FakeRepo()
    noDir.commit({ 'README.md': 'hello' }, 'init')
    const r = await report(noDir)
    expect(r.problem?.code).toBe('ENVIRONMENTS_DIR_MISSING')
    expect(r.problem?.message).toContain('environments/')
    expect(r.environments).toEqual([])

    const noFiles = new FakeRepo()
    noFiles.commit({ 'environments/README.md': 'x' }, 'init')
    expect((await report(noFiles)).problem?.code).toBe('NO_ENVIRONMENTS')
  })

  it('marks held environments from holds/<env>.json, read at the same head', async () => {
    const repo = seeded()
    repo.commit({ 'holds/production.json': JSON.stringify({ reason: 'incident 7', by: 'ops', at: '2024-05-01T00:00:00Z' }) }, 'hold')
    repo.commit({ 'holds/staging.json': 'not json' }, 'hand-written hold')
    const r = await report(repo)
    const [production, staging] = r.environments
    expect(production!.held).toBe(true)
    expect(production!.hold).toEqual({ reason: 'incident 7', by: 'ops', at: '2024-05-01T00:00:00Z' })
    expect(staging!.held).toBe(true)
    expect(staging!.hold?.reason).toMatch(/not valid JSON/)

    // An emptied hold file (what the SDKs' delete() leaves) is a released hold, as for deploys.
    repo.commit({ 'holds/staging.json': '' }, 'release staging the SDK way')
    const released = await report(repo)
    expect(released.environments.find((e) => e.environment === 'staging')!.held).toBe(false)

    // At an earlier head, nothing was held.
    const limit = createLimiter(2)
    const old = await readStatusReport(repo, repo.commits[3]!.sha, { repo: 'deploy-configs', limit })
    expect(old.environments.every((e) => !e.held)).toBe(true)
  })

  it('reads at the head it was given even when a deploy lands meanwhile', async () => {
    const repo = seeded()
    const limit = createLimiter(2)
    const head = await readHead(repo, limit)
    repo.commit({ 'environments/staging.json': env('app:9') }, 'later deploy')
    const r = await readStatusReport(repo, head, { repo: 'deploy-configs', limit })
    expect(r.environments.find((e) => e.environment === 'staging')!.image).toBe('app:1.0')
  })

  it('keeps upstream calls within the concurrency bound, and does run them concurrently', async () => {
    const repo = new FakeRepo({ delayMs: 5 })
    const files: Record<string, string> = {}
    for (let i = 0; i < 12; i++) files[`environments/env${i}.json`] = env(`app:${i}`)
    repo.commit(files, 'many')
    const r = await report(repo, 3, 3)
    expect(r.environments).toHaveLength(12)
    expect(repo.maxInFlight).toBeLessThanOrEqual(3)
    expect(repo.maxInFlight).toBeGreaterThan(1)
  })

  it('propagates upstream failures instead of caching them as a state', async () => {
    const repo = seeded()
    repo.read = () => Promise.reject(new Error('connection reset'))
    await expect(report(repo)).rejects.toThrow('connection reset')
  })
})

describe('readHistoryReport', () => {
  it('lists deploys newest first with who, from, to and run link from trailers', async () => {
    const repo = seeded()
    repo.commit({ 'environments/staging.json': env('app:1.1') }, deployMessage('staging', 'app:1.0', 'app:1.1', 'key:ci-legacy'))
    repo.commit({ 'environments/production.json': env('app:1.1') }, deployMessage('production', 'app:0.9', 'app:1.1', 'x'))
    repo.commit({ 'environments/staging.json': env('app:1.2') }, deployMessage('staging', 'app:1.1', 'app:1.2', 'github:acme/app'))
    const limit = createLimiter(4)
    const h = await readHistoryReport(repo, repo.head!, 'staging', { repo: 'deploy-configs', limit, historyLimit: 10 })
    expect(h.deploys.map((d) => [d.from, d.to, d.who, d.basis])).toEqual([
      ['app:1.1', 'app:1.2', 'github:acme/app', 'trailers'],
      ['app:1.0', 'app:1.1', 'key:ci-legacy', 'trailers'],
      [null, 'app:1.0', 'Seeder', 'content'],
    ])
    expect(h.deploys[0]!.runUrl).toBe('https://github.com/acme/app/actions/runs/42')
    expect(h.deploys[0]!.source).toBe('api')
  })

  it('derives from/to from file content when the server returns only subjects', async () => {
    const repo = seeded({ subjectOnly: true })
    repo.commit({ 'environments/staging.json': env('app:1.1') }, deployMessage('staging', 'app:1.0', 'app:1.1', 'key:ci'), 'broker')
    repo.commit({ 'environments/staging.json': env('app:1.2') }, 'Deploy app:1.2', 'ci-job')
    repo.commit({ 'environments/staging.json': env('app:1.3') }, 'Deploy app:1.3', 'ci-job')
    const limit = createLimiter(4)
    const h = await readHistoryReport(repo, repo.head!, 'staging', { repo: 'deploy-configs', limit, historyLimit: 2 })
    // limit 2 still knows the predecessor of the oldest shown entry
    expect(h.deploys.map((d) => [d.from, d.to, d.who, d.basis])).toEqual([
      ['app:1.2', 'app:1.3', 'ci-job', 'content'],
      ['app:1.1', 'app:1.2', 'ci-job', 'content'],
    ])
    // 2 entries need 3 versions: each read once (memoized)
    expect(repo.calls.filter((c) => c === 'read')).toHaveLength(3)
  })

  it('answers 404 for an environment that never existed', async () => {
    const repo = seeded()
    const limit = createLimiter(2)
    await expect(
      readHistoryReport(repo, repo.head!, 'qa', { repo: 'deploy-configs', limit, historyLimit: 5 }),
    ).rejects.toBeInstanceOf(NotFoundAppError)
  })

  it('records a deleted environment file as a deploy to no image', async () => {
    const repo = seeded()
    repo.commit({ 'environments/staging.json': null }, 'retire staging')
    const limit = createLimiter(2)
    const h = await readHistoryReport(repo, repo.head!, 'staging', { repo: 'deploy-configs', limit, historyLimit: 5 })
    expect(h.deploys[0]).toMatchObject({ from: 'app:1.0', to: null, subject: 'retire staging' })
  })
})
