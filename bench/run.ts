/**
 * `npm run bench [-- --check] [--quick] [--only a,b]`
 *
 * Runs the benchmark scenarios one after another (never in parallel: they
 * would measure each other) and writes BENCHMARKS.md with the machine, the
 * command, the tables and the budget verdicts. With --check, exits 1 when a
 * budget is missed or could not be measured. With --only, the report goes to
 * dist/bench/ so a partial run never replaces the full BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { OUT, ROOT } from './harness/bundles.js'
import { machineInfo } from './harness/machine.js'
import { renderReport } from './harness/report.js'
import { section, type Scenario, type Section } from './harness/scenario.js'

/**
 * Scenarios in run order, loaded lazily: a scenario whose code (or the product
 * code it imports) does not load is reported as not measured, and the others
 * still run.
 */
export const SCENARIOS: Array<{ name: string; load(): Promise<Scenario> }> = [
  { name: 'cold-start', load: async () => (await import('./scenarios/cold-start.js')).coldStart },
  { name: 'warm-overhead', load: async () => (await import('./scenarios/warm-overhead.js')).warmOverhead },
  { name: 'throughput', load: async () => (await import('./scenarios/throughput.js')).throughput },
  { name: 'caches', load: async () => (await import('./scenarios/caches.js')).caches },
  { name: 'jwt-verify', load: async () => (await import('./scenarios/jwt-verify.js')).jwtVerification },
  { name: 'contention', load: async () => (await import('./scenarios/contention.js')).contention },
  { name: 'shared-state', load: async () => (await import('./scenarios/shared-state.js')).sharedState },
]

/**
 * Measurements made by hand with their own commands (bench/by-hand/*.md, each
 * stating its command and date): appended to a full report so that a
 * regeneration keeps them.
 */
function byHandSections(): string {
  const dir = join(ROOT, 'bench', 'by-hand')
  if (!existsSync(dir)) return ''
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `\n${readFileSync(join(dir, f), 'utf8').trim()}\n`)
    .join('')
}

interface Args {
  check: boolean
  quick: boolean
  only: string[]
}

function parseArgs(argv: string[]): Args {
  const args: Args = { check: false, quick: false, only: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--check') args.check = true
    else if (a === '--quick') args.quick = true
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]
      args.only.push(...(v ?? '').split(',').filter(Boolean))
    } else if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench -- [--check] [--quick] [--only ${SCENARIOS.map((s) => s.name).join(',')}]`)
      process.exit(0)
    } else {
      console.error(`unknown argument: ${a}`)
      process.exit(2)
    }
  }
  const unknown = args.only.filter((n) => !SCENARIOS.some((s) => s.name === n))
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`)
    process.exit(2)
  }
  return args
}

async function main() {
  const argv = process.argv.slice(2)
  const args = parseArgs(argv)
  const startedAt = new Date()
  const machine = machineInfo()
  const t0 = performance.now()
  const selected = args.only.length > 0 ? SCENARIOS.filter((s) => args.only.includes(s.name)) : SCENARIOS
  const log = (m: string) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}`)

  const sections: Section[] = []
  for (const scenario of selected) {
    log(`${scenario.name}: start`)
    const s0 = performance.now()
    try {
      const loaded = await scenario.load()
      sections.push(await loaded.run({ quick: args.quick, log: (m) => log(`${scenario.name}: ${m}`) }))
    } catch (err) {
      const s = section(scenario.name, 'The scenario failed before producing results.')
      const msg = err instanceof Error ? err.message : String(err)
      s.notes.push(`not measured: the scenario threw — ${msg}`)
      sections.push(s)
      log(`${scenario.name}: FAILED: ${msg}`)
    }
    log(`${scenario.name}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`)
  }

  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  const report = renderReport(
    {
      command,
      startedAt,
      durationMs: performance.now() - t0,
      machine,
      loadAfter: os.loadavg().map((l) => l.toFixed(2)).join(' / '),
      quick: args.quick,
    },
    sections,
  )
  mkdirSync(OUT, { recursive: true })
  const partial = args.only.length > 0
  const file = partial ? join(OUT, `BENCHMARKS-${args.only.join('-')}.md`) : join(ROOT, 'BENCHMARKS.md')
  writeFileSync(file, partial ? report : report + byHandSections())
  writeFileSync(
    join(OUT, 'results.json'),
    JSON.stringify({ command, startedAt, machine, figures: sections.map((s) => ({ title: s.title, ...s.figures })) }, null, 2),
  )
  log(`wrote ${file}`)

  const budgets = sections.flatMap((s) => s.budgets)
  for (const b of budgets) {
    const v = b.pass === true ? 'PASS' : b.pass === false ? 'MISS' : 'NOT MEASURED'
    console.log(`  ${v.padEnd(12)} ${b.budget}: ${b.measured} (limit ${b.limit})`)
  }
  if (args.check) {
    const failed = budgets.filter((b) => b.pass !== true)
    if (partial) console.log('note: --check with --only judges only the budgets of the selected scenarios')
    if (failed.length > 0) {
      console.error(`bench --check: ${failed.length} budget(s) missed or not measured`)
      process.exit(1)
    }
    console.log('bench --check: all budgets met')
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err)
  process.exit(1)
})
