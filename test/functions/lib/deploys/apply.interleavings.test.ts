/**
 * "Zero lost updates" against a server that ignores expectedHead, over
 * hundreds of seeded interleavings of the in-memory repo: random extra
 * latency before reads, Log calls and writes, and between a write landing
 * and its after-the-fact parent check (so repairs themselves get clobbered);
 * with and without full messages in Log (without them the repair reasons
 * from file contents); with and without our client's pre-check.
 */
import { describe, expect, it } from 'vitest'
import { type ApplyDeps, type ApplyResult, applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { DeployConflictError } from '../../../../functions/lib/deploys/errors.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { FakeRepo } from './fake-repo.js'

const PROD = 'environments/production.json'
const prod = '{\n  "image": "app:0",\n  "replicas": 2\n}\n'

/** A small seeded PRNG (mulberry32), so a failing seed replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Variant {
  fullMessages: boolean
  precheck: boolean
}

function world(seed: number, v: Variant) {
  const rnd = prng(seed)
  const repo = new FakeRepo({ [PROD]: prod }, { mode: 'compat' })
  repo.fullMessages = v.fullMessages
  repo.precheck = v.precheck
  // Mostly short waits, sometimes long ones, longest between a write and its parent check.
  repo.delay = (where) => {
    const r = rnd()
    if (r < 0.55) return 0
    if (r < 0.9) return Math.floor(rnd() * 4)
    return Math.floor(rnd() * (where === 'check' ? 40 : 15))
  }
  const deps: ApplyDeps = {
    repo,
    repoName: 'deploy-configs',
    recent: new RecentDeploys(),
    random: rnd,
    sleep: async (ms) => {
      for (let i = 0; i < Math.ceil(ms / 20); i++) await new Promise((r) => setImmediate(r))
    },
    clock: () => new Date('2026-03-01T12:00:00Z'),
  }
  const apply = (change: { set: Record<string, unknown> } | { image: string }) =>
    applyConfigUpdate(deps, { environment: 'production', source: 'api', requester: 'test', change })
  return { repo, apply }
}

const VARIANTS: Array<[string, Variant]> = [
  ['full messages, no pre-check', { fullMessages: true, precheck: false }],
  ['no full messages, no pre-check', { fullMessages: false, precheck: false }],
  ['full messages, client pre-check', { fullMessages: true, precheck: true }],
  ['no full messages, client pre-check', { fullMessages: false, precheck: true }],
]

describe('no lost updates over many seeded interleavings (server ignores expectedHead)', () => {
  it.each(VARIANTS)('different keys of one file: every success is in the final file (%s)', async (_label, v) => {
    const lost: string[] = []
    for (let seed = 1; seed <= 150; seed++) {
      const { repo, apply } = world(seed, v)
      const n = 6 + (seed % 7)
      const settled = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => apply({ set: { [i % 2 ? `/services/s${i}` : `/k${i}`]: `img:${i}` } })),
      )
      const final = JSON.parse(repo.fileAt(PROD)!)
      settled.forEach((s, i) => {
        const got = i % 2 ? final.services?.[`s${i}`] : final[`k${i}`]
        if (s.status === 'rejected') lost.push(`seed ${seed}: writer ${i} failed: ${(s.reason as Error).message}`)
        else if (!s.value.changed) lost.push(`seed ${seed}: writer ${i} returned changed: false`)
        else if (got !== `img:${i}`) lost.push(`seed ${seed}: writer ${i} returned success but its key holds ${JSON.stringify(got)}`)
      })
      if (final.image !== 'app:0' || final.replicas !== 2) lost.push(`seed ${seed}: untouched keys changed: ${JSON.stringify(final)}`)
    }
    expect(lost).toEqual([])
  })

  it.each(VARIANTS)('same key and other keys at once: the value of the newest winner stays, no lost key (%s)', async (_label, v) => {
    const bad: string[] = []
    for (let seed = 1001; seed <= 1080; seed++) {
      const { repo, apply } = world(seed, v)
      const keys = Promise.allSettled(Array.from({ length: 5 }, (_, i) => apply({ set: { [`/k${i}`]: i } })))
      const same = Promise.allSettled(Array.from({ length: 5 }, (_, i) => apply({ image: `app:${i + 1}` })))
      const [keyResults, sameResults] = await Promise.all([keys, same])
      const final = JSON.parse(repo.fileAt(PROD)!)
      keyResults.forEach((s, i) => {
        if (s.status === 'rejected') bad.push(`seed ${seed}: key writer ${i} failed: ${(s.reason as Error).message}`)
        else if (final[`k${i}`] !== i) bad.push(`seed ${seed}: key writer ${i} succeeded but /k${i} is ${JSON.stringify(final[`k${i}`])}`)
      })
      const winners = sameResults.flatMap((s) => (s.status === 'fulfilled' && s.value.changed ? [s.value as ApplyResult] : []))
      for (const s of sameResults) {
        if (s.status === 'rejected' && !(s.reason instanceof DeployConflictError)) bad.push(`seed ${seed}: image writer failed: ${(s.reason as Error).message}`)
      }
      // The file ends with the value of the winner whose deploy commit is the newest: no
      // successful deploy of the key was undone by a writer that later failed or by a repair.
      // (A deploy that read the file between a clobber and its repair can replace a value it
      // never saw; that is the documented transient window, so winners need not form a chain.)
      const order = repo.history(PROD).map((c) => c.sha)
      const newest = [...winners].sort((a, b) => order.indexOf(a.commit) - order.indexOf(b.commit))[0]
      if (!newest) bad.push(`seed ${seed}: no image winner`)
      else if (final.image !== newest.current['/image']) bad.push(`seed ${seed}: image is ${final.image}, newest winner set ${String(newest.current['/image'])}`)
    }
    expect(bad).toEqual([])
  })
})
