/**
 * Scenario 5: N concurrent deploys to one environment file of one repo,
 * through the deploy core (functions/lib/deploys/apply.ts) with one githosted
 * client per deploy (as N Lambda containers would have), against the local
 * server in both modes: enforcing `expectedHead`, and hosted-compat (ignores
 * it; the client detects the violation and the core repairs). Each deploy
 * sets its own key, so every deploy must land: any key missing or wrong at
 * the end is a lost update.
 */
import { performance } from 'node:perf_hooks'
import { applyConfigUpdate, type ApplyResult } from '../../functions/lib/deploys/apply.js'
import { RecentDeploys } from '../../functions/lib/deploys/recent.js'
import { Client } from '../../functions/lib/githosted/index.js'
import { startLocalGithosted } from '../../local/githosted/index.js'
import { reps, section, type Scenario } from '../harness/scenario.js'
import { fmtMs, fmtRatio, mean, median, ratio } from '../harness/stats.js'
import { createUpstreamRecorder } from '../harness/upstream-timer.js'

const LATENCY_MS = 10
const REPO = 'deploy-configs'

interface Outcome {
  wallMs: number
  results: ApplyResult[]
  failures: string[]
  lost: number
  /** Failed deploys whose key is in the final file anyway. */
  landedDespiteFailure: number
  writeCalls: number
}

export const contention: Scenario = {
  name: 'contention',
  async run(ctx) {
    const s = section(
      'Contention: concurrent deploys to one repo',
      `N deploys, each setting its own key in the same environment file of \`${REPO}\`, through the deploy core ` +
        `with one githosted client per deploy, against the local server with ${LATENCY_MS} ms injected latency ` +
        'per call. "Sequential" runs the same N deploys one after another on a fresh file; the ratio is ' +
        'concurrent ÷ sequential completion time. Retries are the core\'s stale-head retries and repairs ' +
        '(ApplyResult.retries + repairs); write calls include the client\'s RepoBusy retries. A lost update is ' +
        'a key of a deploy that reported success but is missing or wrong in the final file. The deploy ' +
        'clients run in the bench process, next to the server.',
    )
    const sizes = ctx.quick ? [20] : [20, 50]
    const rounds = reps(ctx, 1, 1)
    const rows: string[][] = []
    let totalLost = 0
    let failedTotal = 0
    let measured = 0
    for (const compat of [false, true]) {
      const mode = compat ? 'hosted-compat (expectedHead ignored)' : 'enforcing expectedHead'
      const server = await startLocalGithosted({ seed: true, compat, faults: { latencyMs: LATENCY_MS } })
      const token = server.bootstrapToken!
      const rec = createUpstreamRecorder()
      try {
        for (const n of sizes) {
          for (let round = 0; round < rounds; round++) {
            ctx.log(`${mode}, N=${n}: sequential`)
            const seq = await runDeploys(server.url, token, `bench-seq-${n}-${round}`, n, false, rec)
            ctx.log(`${mode}, N=${n}: concurrent`)
            const conc = await runDeploys(server.url, token, `bench-conc-${n}-${round}`, n, true, rec)
            totalLost += seq.lost + conc.lost
            failedTotal += seq.failures.length + conc.failures.length
            measured++
            const retries = conc.results.map((r) => r.retries + r.repairs)
            rows.push([
              mode,
              String(n),
              fmtMs(seq.wallMs),
              fmtMs(conc.wallMs),
              fmtRatio(ratio(conc.wallMs, seq.wallMs)),
              `${mean(retries).toFixed(2)} (median ${median(retries)}, max ${Math.max(0, ...retries)})`,
              (conc.writeCalls / n).toFixed(2),
              String(conc.results.reduce((a, r) => a + r.repairs, 0)),
              `${conc.failures.length}${conc.failures.length ? ` (${[...new Set(conc.failures.map((f) => f.split(':')[0]))].join(', ')})` : ''}`,
              String(conc.landedDespiteFailure),
              `**${conc.lost}**`,
            ])
            if (conc.failures.length > 0) s.notes.push(`${mode}, N=${n}: first failure: ${conc.failures[0]}.`)
            s.figures[`${compat ? 'compat' : 'enforcing'} N=${n} time ratio`] = Number(ratio(conc.wallMs, seq.wallMs).toFixed(2))
            s.figures[`${compat ? 'compat' : 'enforcing'} N=${n} retries per deploy`] = Number(mean(retries).toFixed(2))
            s.figures[`${compat ? 'compat' : 'enforcing'} N=${n} lost updates`] = conc.lost
          }
        }
      } finally {
        rec.stop()
        await server.close()
      }
    }
    if (failedTotal > 0) {
      s.notes.push(
        `${failedTotal} deploy(s) failed outright (listed per row): each was reported to its caller as an error, ` +
          'so it is not a lost update, but a deploy the caller has to retry. "failed but landed" counts failed ' +
          'deploys whose key is nevertheless in the final file (a retry by the caller is then a no-op).',
      )
    }
    s.tables.push({
      headers: ['server mode', 'N', 'sequential', 'concurrent', 'ratio', 'retries per deploy', 'write calls per deploy', 'repair commits', 'failed deploys', 'failed but landed', 'lost updates'],
      rows,
    })
    s.budgets.push({
      budget: 'Lost updates under 20/50 concurrent deploys, both server modes',
      limit: '0',
      measured: measured > 0 ? String(totalLost) : 'not measured',
      pass: measured > 0 ? totalLost === 0 : null,
    })
    return s
  },
}

async function runDeploys(
  baseUrl: string,
  token: string,
  environment: string,
  n: number,
  concurrent: boolean,
  rec: ReturnType<typeof createUpstreamRecorder>,
): Promise<Outcome> {
  const setup = new Client({ token, baseUrl, clientName: 'bench' })
  const path = `environments/${environment}.json`
  await setup.repo(REPO).write(path, `${JSON.stringify({ image: 'ghcr.io/acme/app:0', replicas: 1 }, null, 2)}\n`, {
    message: `bench: create ${path}`,
  })
  const one = async (i: number): Promise<ApplyResult> => {
    const client = new Client({ token, baseUrl, clientName: 'bench' })
    return applyConfigUpdate(
      { repo: client.repo(REPO), repoName: REPO, recent: new RecentDeploys<ApplyResult>() },
      { environment, change: { set: { [`/k${i}`]: `v${i}` } }, source: 'api', requester: `bench:${i}` },
    )
  }
  rec.reset()
  const results: ApplyResult[] = []
  const failures: string[] = []
  const okIndexes: number[] = []
  const failedIndexes: number[] = []
  const t0 = performance.now()
  const settle = async (i: number) => {
    try {
      results.push(await one(i))
      okIndexes.push(i)
    } catch (err) {
      failedIndexes.push(i)
      failures.push(err instanceof Error ? `${err.name}: ${err.message.slice(0, 80)}` : String(err))
    }
  }
  if (concurrent) await Promise.all(Array.from({ length: n }, (_, i) => settle(i)))
  else for (let i = 0; i < n; i++) await settle(i)
  const wallMs = performance.now() - t0
  const writeCalls = rec.calls.filter((c) => c.path.endsWith('/WriteFile')).length
  const final = JSON.parse((await setup.repo(REPO).read(path)).content) as Record<string, unknown>
  const lost = okIndexes.filter((i) => final[`k${i}`] !== `v${i}`).length
  const landedDespiteFailure = failedIndexes.filter((i) => final[`k${i}`] === `v${i}`).length
  return { wallMs, results, failures, lost, landedDespiteFailure, writeCalls }
}
