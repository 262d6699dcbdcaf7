/**
 * The deploy core against the real local githosted server (real Git repos,
 * the product Client), in every server profile (local/githosted/profiles.ts):
 * enforcing expectedHead, ignoring it, rejecting it as an unknown field, and
 * HTTP/2-only. Also records the performance figures for the
 * report (deploys per second, retries per deploy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApplyResult, applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { changedLineCount } from '../../../../functions/lib/deploys/diff.js'
import { DeployConflictError } from '../../../../functions/lib/deploys/errors.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { parseDeployTrailers } from '../../../../functions/lib/deploys/trailers.js'
import { Client } from '../../../../functions/lib/githosted/index.js'
import type { RepoHandle } from '../../../../functions/lib/githosted/types.js'
import { startTestGithosted, testProfile, type TestGithosted } from '../../../helpers/githosted.js'
import type { ProfileName } from '../../../../local/githosted/index.js'

let gh: TestGithosted
let client: Client

beforeAll(async () => {
  gh = await startTestGithosted()
  client = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
})
afterAll(async () => {
  await gh?.close()
})

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 }
}

async function freshRepo(name: string, files: Record<string, string>): Promise<RepoHandle> {
  await client.createRepo({ name })
  const repo = client.repo(name)
  for (const [path, content] of Object.entries(files)) await repo.write(path, content, { message: `add ${path}` })
  return repo
}

const deploy = (repo: RepoHandle, repoName: string, environment: string, change: ApplyResult extends never ? never : { image: string } | { set: Record<string, unknown> }) =>
  applyConfigUpdate({ repo, repoName, recent: new RecentDeploys() }, { environment, change, source: 'api', requester: 'test' })

// The default run covers documented and hosted-today; the per-profile runs (vitest.config.ts) their own.
const profiles: ProfileName[] = testProfile() === 'documented' ? ['documented', 'hosted-today'] : [testProfile()]

describe.each(profiles)('against the local server (profile %s)', (profile) => {
  const suffix = profile
  beforeAll(() => gh.setProfile(profile))
  afterAll(() => gh.setProfile(testProfile()))

  it('20 concurrent deploys to different keys of one file all land; the Git log has every deploy', async () => {
    const name = `keys-${suffix}`
    const repo = await freshRepo(name, { 'environments/production.json': '{\n  "image": "app:1",\n  "replicas": 2\n}\n' })
    const started = performance.now()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => deploy(repo, name, 'production', { set: { [`/services/s${i}`]: `img:${i}` } })))
    const seconds = (performance.now() - started) / 1000
    const final = JSON.parse((await repo.read('environments/production.json')).content)
    for (let i = 0; i < 20; i++) expect(final.services[`s${i}`]).toBe(`img:${i}`)
    expect(final).toMatchObject({ image: 'app:1', replicas: 2 })
    expect(results.every((r) => r.changed)).toBe(true)
    const log = await repo.log({ path: 'environments/production.json', limit: 200 })
    // Every deploy commit is in the history (plus repairs in compat mode).
    const deployCommits = new Set(results.map((r) => r.commit))
    expect(deployCommits.size).toBe(20)
    for (const c of deployCommits) expect(log.some((l) => l.sha === c)).toBe(true)
    if (profile === 'documented') {
      expect(log.length).toBe(21)
      const trailers = log.slice(0, 20).map((c) => parseDeployTrailers(c.message))
      expect(trailers.every((t) => t?.environment === 'production' && t.changes.length === 1)).toBe(true)
    }
    const retries = stats(results.map((r) => r.attempts - 1))
    console.log(`[perf] 20 writers, different keys, ${suffix}: ${(20 / seconds).toFixed(1)} deploys/s; retries per deploy median ${retries.median}, max ${retries.max}; repairs ${results.reduce((n, r) => n + r.repairs, 0)}`)
  })

  it('20 concurrent deploys to the same key end with one value; every other is a conflict or a no-op', async () => {
    const name = `same-${suffix}`
    const repo = await freshRepo(name, { 'environments/production.json': '{\n  "image": "app:0",\n  "replicas": 2\n}\n' })
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => deploy(repo, name, 'production', { image: `app:${i + 1}` })))
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []))
    for (const e of errors) expect(e).toBeInstanceOf(DeployConflictError)
    const winners = ok.filter((r) => r.changed)
    expect(winners).toHaveLength(1)
    const final = JSON.parse((await repo.read('environments/production.json')).content)
    expect(final).toEqual({ image: winners[0]!.current['/image'], replicas: 2 })
    expect(ok.length + errors.length).toBe(20)
    const retries = stats(ok.map((r) => r.attempts - 1))
    console.log(`[perf] 20 writers, same key, ${suffix}: 1 winner, ${errors.length} conflicts, ${ok.length - 1} no-ops; retries median ${retries.median}, max ${retries.max}`)
  })

  it('20 concurrent deploys to different environments all land', async () => {
    const name = `envs-${suffix}`
    const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`environments/e${i}.json`, '{\n  "image": "app:0"\n}\n']))
    const repo = await freshRepo(name, files)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => deploy(repo, name, `e${i}`, { image: `app:${i + 1}` })))
    expect(results.every((r) => r.changed)).toBe(true)
    for (let i = 0; i < 20; i++) {
      expect(JSON.parse((await repo.read(`environments/e${i}.json`)).content).image).toBe(`app:${i + 1}`)
    }
  })
})

describe('formatting against the real server', () => {
  it.each([
    ['2-space, trailing newline', '{\n  "image": "app:1",\n  "replicas": 2\n}\n'],
    ['4-space, no trailing newline', '{\n    "image": "app:1",\n    "replicas": 2\n}'],
  ])('a scalar change is a one-line diff in Git (%s)', async (label, text) => {
    const name = `fmt-${label.startsWith('2') ? 'two' : 'four'}`
    const repo = await freshRepo(name, { 'environments/production.json': text })
    const before = (await repo.read('environments/production.json')).headSha
    const r = await deploy(repo, name, 'production', { image: 'ghcr.io/acme/app:1.4.2' })
    const after = (await repo.read('environments/production.json')).content
    expect(changedLineCount(text, after)).toEqual({ removed: 1, added: 1 })
    const patch = await repo.diff(before, r.commit)
    const body = patch.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l))
    expect(body).toHaveLength(2)
    expect(after.endsWith('\n')).toBe(text.endsWith('\n'))
  })
})

describe('throughput', () => {
  it('sequential deploys to one repo (deploys per second)', async () => {
    const name = 'throughput'
    const repo = await freshRepo(name, { 'environments/production.json': '{\n  "image": "app:0"\n}\n' })
    const n = 30
    const started = performance.now()
    for (let i = 1; i <= n; i++) expect((await deploy(repo, name, 'production', { image: `app:${i}` })).changed).toBe(true)
    const seconds = (performance.now() - started) / 1000
    console.log(`[perf] sequential: ${n} deploys in ${seconds.toFixed(2)} s = ${(n / seconds).toFixed(1)} deploys/s to one repo (strict server)`)
    expect((await repo.log({ path: 'environments/production.json', limit: 100 })).length).toBe(n + 1)
  })
})
