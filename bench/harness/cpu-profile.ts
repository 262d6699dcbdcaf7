/**
 * Where a warm request's CPU goes: profiles the sequential phase of a warm
 * job (the V8 profiler is started after import and warm-up) against an
 * unminified build of the same entry (esbuild marks each module with a
 * `// path` comment there, so samples map back to packages and our folders)
 * and sums self time per package. Used to explain an overhead budget miss
 * with data rather than guesses; the timings themselves come from the
 * minified, shipped build.
 */
import { build } from 'esbuild'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ESM_REQUIRE_BANNER } from '../../build/bundle.js'
import { yamlPlugin } from '../../build/yaml-plugin.js'
import { OUT } from './bundles.js'
import type { LambdaJob } from './lambda-child.js'
import { runInFreshProcess } from './lambda-runner.js'
import { ownerOf } from './metafile.js'

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>
  samples: number[]
  timeDeltas: number[]
}

export interface CpuShare {
  owner: string
  ms: number
  share: number
}

/** Builds `entry` unminified (otherwise as build/bundle.ts does) for attribution. */
export async function buildReadable(entry: string, name: string): Promise<string> {
  const outfile = join(OUT, 'readable', name, 'index.mjs')
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    banner: { js: ESM_REQUIRE_BANNER },
    plugins: [yamlPlugin()],
    logLevel: 'warning',
  })
  return outfile
}

/** Line (0-based) → module path, from esbuild's `// path` markers. */
function moduleLines(bundle: string): (line: number) => string {
  const lines = readFileSync(bundle, 'utf8').split('\n')
  const starts: Array<[number, string]> = []
  lines.forEach((l, i) => {
    const m = /^\/\/ ((?:node_modules|functions|bench|local|config)\/\S+)$/.exec(l)
    if (m) starts.push([i, m[1]!])
  })
  return (line) => {
    let lo = 0
    let hi = starts.length - 1
    let found = '(bundle prelude)'
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (starts[mid]![0] <= line) {
        found = starts[mid]![1]
        lo = mid + 1
      } else hi = mid - 1
    }
    return found
  }
}

/** Runs the job with its sequential phase profiled; returns self time per owner, largest first. */
export async function profileJob(bundle: string, job: LambdaJob, env: Record<string, string>): Promise<CpuShare[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-prof-'))
  try {
    const file = join(dir, 'warm.cpuprofile')
    const r = await runInFreshProcess({ ...job, bundle, profileTo: file }, { env })
    if (r.error) throw new Error(r.error)
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    const owner = moduleLines(bundle)
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    const totals = new Map<string, number>()
    profile.samples.forEach((id, i) => {
      const node = byId.get(id)
      if (!node) return
      const { url, functionName, lineNumber } = node.callFrame
      let key: string
      if (url.endsWith(bundle.split('/').slice(-3).join('/'))) key = ownerOf(owner(lineNumber))
      else if (url.includes('lambda-child')) key = '(bench harness)'
      else if (url === '') {
        key = ['(idle)', '(garbage collector)', '(program)', '(root)'].includes(functionName)
          ? functionName
          : 'native code (socket and stdout writes, timers, microtasks)'
      }
      else key = 'node internals (http, fetch/undici, streams, crypto)'
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
    })
    const busy = [...totals.entries()].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0)
    return [...totals.entries()]
      .filter(([k]) => k !== '(idle)')
      .map(([k, ms]) => ({ owner: k, ms, share: ms / busy }))
      .sort((a, b) => b.ms - a.ms)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
