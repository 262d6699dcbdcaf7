/**
 * Measures what @aws-lambda-powertools/metrics would cost against the
 * hand-written EMF writer (functions/lib/observability/emf.ts), to back the
 * choice recorded in BENCHMARKS.md ("EMF metrics"):
 *
 *   npx tsx infra/measure-emf.ts <dir with node_modules/@aws-lambda-powertools/metrics> [runs=21]
 *
 * Each probe writes one counter the way the broker would; both are bundled
 * like the functions (esbuild, ESM, minified, node22) and imported in fresh
 * node processes; medians of wall and CPU ms for import + one flush.
 */
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { PROJECT_ROOT } from './main.js'

const TIMER = `
const c = process.cpuUsage(); const t = performance.now()
await import(process.argv[1])
const u = process.cpuUsage(c)
process.stderr.write(JSON.stringify([performance.now() - t, (u.user + u.system) / 1000]))
`

const PROBES: Record<string, string> = {
  'hand-written': `import { emfLines } from ${JSON.stringify(join(PROJECT_ROOT, 'functions/lib/observability/emf.ts'))}
for (const l of emfLines('GithostedCiBroker', { Stage: 'prod' }, [{ name: 'TokensIssued', unit: 'Count', value: 1 }], Date.now())) process.stdout.write(l + '\\n')`,
  powertools: `import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
const m = new Metrics({ namespace: 'GithostedCiBroker', serviceName: 'broker', defaultDimensions: { Stage: 'prod' } })
m.addMetric('TokensIssued', MetricUnit.Count, 1)
m.publishStoredMetrics()`,
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

async function main(): Promise<void> {
  const [modulesDir, runsArg] = process.argv.slice(2)
  if (!modulesDir) throw new Error('usage: measure-emf.ts <dir containing node_modules/@aws-lambda-powertools/metrics> [runs]')
  const runs = Number(runsArg ?? 21)
  const dir = mkdtempSync(join(PROJECT_ROOT, '.emf-measure-'))
  try {
    console.log('probe          bytes    gzip  import+flush wall ms  cpu ms')
    for (const [name, source] of Object.entries(PROBES)) {
      const entry = join(dir, `${name}.ts`)
      const outfile = join(dir, `${name}.mjs`)
      writeFileSync(entry, source)
      await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, nodePaths: [join(modulesDir, 'node_modules')], mainFields: ['module', 'main'], logLevel: 'warning' })
      const samples = Array.from({ length: runs }, () => {
        // The probe prints its EMF line on stdout; the timing comes on stderr.
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', TIMER, outfile], { stdio: ['ignore', 'ignore', 'pipe'] })
        if (r.status !== 0) throw new Error(`${name} probe failed: ${r.stderr.toString()}`)
        return JSON.parse(r.stderr.toString()) as [number, number]
      })
      const bytes = statSync(outfile).size
      const gzip = gzipSync(readFileSync(outfile)).length
      console.log(`${name.padEnd(12)} ${String(bytes).padStart(7)} ${String(gzip).padStart(7)} ${median(samples.map((s) => s[0])).toFixed(1).padStart(20)} ${median(samples.map((s) => s[1])).toFixed(1).padStart(7)}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
