/**
 * Scenario: requests per second on one core for POST /v1/tokens (OIDC,
 * cached JWKS), upstream at 0 ms injected latency, the product's handler
 * side by side with the Express peer (the same token code behind Express +
 * serverless-http). Each runs in its own fresh child process — one JavaScript
 * thread, so one core for the handler; githosted, the secrets extension and
 * dynalite run in the bench process — first one request at a time (CPU per
 * request → what one core serves when the handler is the bottleneck), then a
 * batch with 16 requests in flight (what the process actually served).
 */
import { runInFreshProcess } from '../harness/lambda-runner.js'
import { many } from '../harness/rounds.js'
import { reps, section, type Scenario } from '../harness/scenario.js'
import { fmtInt, fmtMs, fmtRatio } from '../harness/stats.js'
import { startWorld, type World } from '../harness/world.js'
import { expressToken, token, withSecrets, type Target } from './targets.js'

const CONCURRENCY = 16


interface Row {
  cpuPer: number
  seqPerSec: number
  concPerSec: number
  ok: string
}

export const throughput: Scenario = {
  name: 'throughput',
  async run(ctx) {
    const s = section(
      'Throughput',
      'POST /v1/tokens with a cached JWKS and no injected latency (githosted, the secrets extension and dynalite on ' +
        '127.0.0.1 in the bench process), each subject in a fresh child process (one JavaScript thread: one core for ' +
        'the handler). After a warm-up, requests are served one at a time (**CPU per request**: process CPU over the ' +
        'phase ÷ requests; **req/s per core** = 1000 ÷ it, what one core serves when the handler is the bottleneck), ' +
        `then a batch with ${CONCURRENCY} in flight (what the process served, upstream servers sharing the machine's ` +
        'other core). Subjects alternate, two rounds each; figures are the better round (noise only ever slows a round).',
    )
    const warmup = reps(ctx, 30, 10)
    const n = reps(ctx, 200, 80)
    const batch = reps(ctx, 200, 80)
    const subjects: Target[] = [withSecrets(token, 'extension'), withSecrets(expressToken, 'extension')]
    const world: World = await startWorld()
    const rows = new Map<string, Row[]>()
    try {
      const bundles = new Map<string, string>()
      for (const t of subjects) {
        const why = t.missing()
        if (why) {
          s.notes.push(`${t.name}: not measured: ${why}.`)
          continue
        }
        bundles.set(t.name, (await t.build()).outfile)
      }
      for (let round = 0; round < 2; round++) {
        for (const t of subjects) {
          const bundle = bundles.get(t.name)
          if (!bundle) continue
          ctx.log(`${t.name}: round ${round + 1}`)
          const ev = () => t.event(world).then((e) => e.event)
          const r = await runInFreshProcess(
            {
              bundle,
              mode: 'warm',
              warmupEvents: await many(warmup, ev),
              events: await many(n, ev),
              concurrentEvents: await many(batch, ev),
              concurrency: CONCURRENCY,
            },
            { env: { ...world.env, ...(t.env?.(world) ?? {}) } },
          )
          if (r.error || !r.concurrent) {
            s.notes.push(`${t.name} round ${round + 1}: not measured (${r.error ?? 'no concurrent phase'}).`)
            continue
          }
          const good = r.samples.filter((x) => t.ok.includes(x.status)).length
          const concOk = Object.entries(r.concurrent.statuses)
            .filter(([k]) => t.ok.map(String).includes(k))
            .reduce((a, [, v]) => a + v, 0)
          const cpuPer = (r.cpuMs ?? Number.NaN) / r.samples.length
          const list = rows.get(t.name) ?? []
          list.push({
            cpuPer,
            seqPerSec: (r.samples.length * 1000) / r.samples.reduce((a, x) => a + x.ms, 0),
            concPerSec: (concOk * 1000) / r.concurrent.wallMs,
            ok: `${good}/${r.samples.length} + ${concOk}/${r.concurrent.requests}`,
          })
          rows.set(t.name, list)
        }
      }
    } finally {
      await world.close()
    }
    const best = (name: string) => {
      const list = rows.get(name) ?? []
      if (list.length === 0) return undefined
      return {
        cpuPer: Math.min(...list.map((x) => x.cpuPer)),
        seqPerSec: Math.max(...list.map((x) => x.seqPerSec)),
        concPerSec: Math.max(...list.map((x) => x.concPerSec)),
        ok: list.map((x) => x.ok).join('; '),
      }
    }
    const product = best(subjects[0]!.name)
    const peer = best(subjects[1]!.name)
    const table: string[][] = []
    for (const t of subjects) {
      const b = best(t.name)
      if (!b) {
        table.push([t.name, 'not measured', '', '', '', '', ''])
        continue
      }
      table.push([
        t.name,
        fmtMs(b.cpuPer),
        `**${fmtInt(1000 / b.cpuPer)}**`,
        fmtInt(b.seqPerSec),
        fmtInt(b.concPerSec),
        peer && t.name !== subjects[1]!.name ? fmtRatio(peer.cpuPer / b.cpuPer) : '—',
        b.ok,
      ])
      s.figures[`${t.name} req/s per core`] = Math.round(1000 / b.cpuPer)
      s.figures[`${t.name} req/s ${CONCURRENCY} in flight`] = Math.round(b.concPerSec)
    }
    s.tables.push({
      caption: 'POST /v1/tokens, cached JWKS, 0 ms injected latency',
      headers: ['subject', 'CPU per request', 'req/s per core (CPU-bound)', 'req/s one at a time', `req/s, ${CONCURRENCY} in flight`, '× Express peer (per core)', 'ok (sequential + batch)'],
      rows: table,
    })
    if (product && peer) {
      s.notes.push(
        `Per core the Hono handler serves ${fmtInt(1000 / product.cpuPer)} mints a second against Express's ` +
          `${fmtInt(1000 / peer.cpuPer)}; both make the same upstream calls per mint (the same token code: ` +
          'functions/lib/tokens/service.ts), so the difference is framework, adapter and body handling.',
      )
    }
    return s
  },
}
