/**
 * `npx tsx bench/repo-busy-budget.ts`: one deploy under 100% RepoBusy with
 * the default request budget, in real time: how long until it gives up, and
 * how many githosted calls it made.
 */
import { performance } from 'node:perf_hooks'
import { DEFAULT_REQUEST_BUDGET_MS, Deadline, withDeadline } from '../functions/lib/deadline.js'
import { applyConfigUpdate } from '../functions/lib/deploys/apply.js'
import { RecentDeploys } from '../functions/lib/deploys/recent.js'
import { Client } from '../functions/lib/githosted/index.js'
import { startLocalGithosted, SEED_REPO } from '../local/githosted/index.js'

const gh = await startLocalGithosted({ seed: true })
const calls: Record<string, number> = {}
const counting = (async (input: string | URL | Request, init?: RequestInit) => {
  const method = String(input).split('/').pop() ?? ''
  calls[method] = (calls[method] ?? 0) + 1
  return fetch(input, init)
}) as typeof fetch
const repo = new Client({ token: gh.bootstrapToken!, baseUrl: gh.url, fetch: counting }).repo(SEED_REPO)
gh.setFaults({ repoBusy: { rate: 1 } })
const t = performance.now()
const outcome = await withDeadline(new Deadline(DEFAULT_REQUEST_BUDGET_MS), () =>
  applyConfigUpdate({ repo, repoName: SEED_REPO, recent: new RecentDeploys() }, { environment: 'staging', change: { image: 'app:busy' }, source: 'api', requester: 'bench' }),
).then(
  () => 'applied (unexpected)',
  (err: { status?: number; code?: string }) => `${err.status} ${err.code}`,
)
const seconds = ((performance.now() - t) / 1000).toFixed(1)
console.log(`100% RepoBusy: ${outcome} after ${seconds} s; WriteFile ${calls.WriteFile ?? 0}, all calls ${Object.values(calls).reduce((a, b) => a + b, 0)}`)
await gh.close()
