import { it } from 'vitest'
import { applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { FakeRepo } from './fake-repo.js'
const PROD = 'environments/production.json'
function prng(seed: number) { let a = seed >>> 0; return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296 } }
it('probe', async () => {
  for (const fm of [true]) {
    let writes = 0, reads = 0, attempts = 0, maxA = 0, t0 = Date.now(), commits = 0
    for (let seed = 1; seed <= 150; seed++) {
      const rnd = prng(seed)
      const repo = new FakeRepo({ [PROD]: '{\n  "image": "app:0",\n  "replicas": 2\n}\n' }, { mode: 'compat' })
      repo.fullMessages = fm
      repo.delay = (where) => { const r = rnd(); if (r < 0.55) return 0; if (r < 0.9) return Math.floor(rnd() * 4); return Math.floor(rnd() * (where === 'check' ? 40 : 15)) }
      const read = repo.read.bind(repo); repo.read = async (p, o) => { reads++; return read(p, o) }
      const deps = { repo, repoName: 'x', recent: new RecentDeploys<any>(), random: rnd, sleep: async (ms: number) => { for (let i = 0; i < Math.ceil(ms / 20); i++) await new Promise((r) => setImmediate(r)) } }
      const n = 6 + (seed % 7)
      const rs = await Promise.allSettled(Array.from({ length: n }, (_, i) => applyConfigUpdate(deps, { environment: 'production', source: 'api', change: { set: { [`/k${i}`]: i } } })))
      for (const r of rs) if (r.status === 'fulfilled') { attempts += r.value.attempts; maxA = Math.max(maxA, r.value.attempts) }
      writes += repo.writes; commits += repo.history(PROD).length
    }
    console.log(`fm=${fm} writes=${writes} commits=${commits} reads=${reads} attempts=${attempts} max=${maxA} ms=${Date.now() - t0}`)
  }
})
