/**
 * `npx tsx bench/githosted-protocols.ts [N]`: HTTP/1.1 keep-alive vs HTTP/2
 * (h2c) latency of the product client against the local githosted: N
 * sequential ReadFile calls on a warm connection, per profile documented
 * (served over HTTP/1.1) and minimal (HTTP/2 only; the client switches after
 * its first call). Prints median and p95 per call.
 */
import { performance } from 'node:perf_hooks'
import { Client } from '../functions/lib/githosted/index.js'
import { startLocalGithosted, SEED_REPO, type ProfileName } from '../local/githosted/index.js'

const N = Number(process.argv[2] ?? 300)

async function measure(profile: ProfileName): Promise<number[]> {
  const gh = await startLocalGithosted({ seed: true, profile })
  try {
    const client = new Client({ token: gh.bootstrapToken!, baseUrl: gh.url })
    const repo = client.repo(SEED_REPO)
    for (let i = 0; i < 20; i++) await repo.ls('environments') // warm-up (and protocol discovery)
    const times: number[] = []
    for (let i = 0; i < N; i++) {
      const t = performance.now()
      await repo.ls('environments')
      times.push(performance.now() - t)
    }
    return times.sort((a, b) => a - b)
  } finally {
    await gh.close()
  }
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!.toFixed(2)
for (const [label, profile] of [['HTTP/1.1 keep-alive', 'documented'], ['HTTP/2 (h2c)', 'minimal']] as const) {
  const t = await measure(profile)
  console.log(`${label.padEnd(20)} ListFiles x${N}: median ${pct(t, 0.5)} ms, p95 ${pct(t, 0.95)} ms`)
}
