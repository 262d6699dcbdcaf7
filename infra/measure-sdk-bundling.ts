/**
 * Measures what bundling `@aws-sdk/*` costs or saves, to back the choice in
 * infra/bundling.ts (results in docs/aws-design.md):
 *
 *   npx tsx infra/measure-sdk-bundling.ts [runs=15]
 *
 * Builds each function twice with build/bundle.ts (SDK bundled; SDK external,
 * resolved from node_modules as Lambda resolves its runtime copy), then times
 * `await import(bundle)` in fresh node processes and prints medians (wall and
 * CPU ms) with the bundle sizes.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { bundleFunction, FUNCTIONS } from '../build/bundle.js'
import { PROJECT_ROOT } from './main.js'

const TIMER = `
const c = process.cpuUsage(); const t = performance.now()
await import(process.argv[1])
const u = process.cpuUsage(c)
console.log(JSON.stringify([performance.now() - t, (u.user + u.system) / 1000]))
`

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function time(file: string, runs: number): { wall: number; cpu: number } {
  const samples = Array.from({ length: runs }, () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', TIMER, file], { stdio: ['ignore', 'pipe', 'ignore'] })
    return JSON.parse(out.toString()) as [number, number]
  })
  return { wall: median(samples.map((s) => s[0])), cpu: median(samples.map((s) => s[1])) }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 15)
  // Inside the repository so that external imports resolve from its node_modules.
  const dir = mkdtempSync(join(PROJECT_ROOT, '.sdk-measure-'))
  try {
    const probe = join(dir, 'probe.ts')
    writeFileSync(
      probe,
      "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'\nexport const c = new SecretsManagerClient({ region: 'eu-west-1' })\n",
    )
    const entries: Array<[string, string | undefined]> = [...FUNCTIONS.map((f): [string, undefined] => [f, undefined]), ['sdk-probe', probe]]
    console.log('bundle      variant   bytes    gzip     wall ms  cpu ms')
    for (const [name, entry] of entries) {
      for (const variant of ['bundled', 'external'] as const) {
        const outdir = join(dir, `${name}-${variant}`)
        const r = await bundleFunction(name, {
          outdir,
          external: variant === 'external' ? ['@aws-sdk/*'] : [],
          ...(entry ? { entry } : {}),
        })
        const gzip = gzipSync(readFileSync(r.outfile)).length
        const t = time(r.outfile, runs)
        console.log(
          `${name.padEnd(11)} ${variant.padEnd(9)} ${String(r.bytes).padStart(7)} ${String(gzip).padStart(7)} ` +
            `${t.wall.toFixed(1).padStart(8)} ${t.cpu.toFixed(1).padStart(7)}`,
        )
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
