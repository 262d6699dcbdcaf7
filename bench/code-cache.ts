/**
 * `[BENCH_NODE=/path/to/node22] npx tsx bench/code-cache.ts [--rounds N]`
 *
 * By-hand measurement for issue 16's last lever: does a V8 code cache made at
 * build time shorten a cold start, and would Lambda accept it? Not wired into
 * the product (bench/by-hand/issue-16-changes.md says why).
 *
 * The token function is built as one CommonJS script (same entry, options and
 * externals as build/bundle.ts, but no lazy chunks: a code cache covers one
 * script) behind a small ESM loader that compiles it with `vm.Script`, with
 * or without `cachedData`. Caches are made by a "training" container: after
 * its first request (`createCachedData()` then holds every function that
 * request compiled) or right after import. Subjects run interleaved in fresh
 * processes against one world, as the cold-start scenario runs them (init +
 * first request − upstream), beside floor (b) and the shipped ESM bundle.
 *
 * The last rows run the cached subject with the V8 flags the Lambda Node.js
 * runtime starts node with (`--expose-gc --max-semi-space-size=… --max-old-space-size=…`,
 * sized from the function's memory), to see whether V8 accepts a cache made
 * without them: V8 stores a hash of its flags in the cache and rejects it on a
 * mismatch, as it does for another V8 version.
 */
import { build } from 'esbuild'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { yamlPlugin } from '../build/yaml-plugin.js'
import { EXTERNAL_MODULES } from '../infra/bundling.js'
import { buildPeer, OUT, ROOT } from './harness/bundles.js'
import { runInFreshProcess } from './harness/lambda-runner.js'
import { localOidcEntry } from './harness/local-oidc-entry.js'
import { median } from './harness/stats.js'
import { startWorld, type World } from './harness/world.js'
import { floorNecessary, token, tokenShipped, withSecrets, type Target } from './scenarios/targets.js'

const DIR = join(OUT, 'code-cache')
/** The flags a Lambda Node.js runtime gave node in a published report (gios/gzipper#103; parcel-bundler/parcel#9398 shows the same set); their values follow the memory size. */
const LAMBDA_FLAGS = ['--expose-gc', '--max-semi-space-size=102', '--max-old-space-size=1844']

const LOADER = `import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'
const file = fileURLToPath(new URL('./index.cjs', import.meta.url))
const cacheFile = process.env.CC_CACHE
const cachedData = cacheFile && existsSync(cacheFile) && process.env.CC_TRAIN === undefined ? readFileSync(cacheFile) : undefined
const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})', { filename: file, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER })
if (cachedData && process.env.CC_REPORT) writeFileSync(process.env.CC_REPORT, script.cachedDataRejected ? 'rejected' : 'accepted')
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
if (process.env.CC_TRAIN === 'import') writeFileSync(cacheFile, script.createCachedData())
if (process.env.CC_TRAIN === 'first') process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()))
export const handler = module.exports.handler
`

async function scriptBundle(name: string, entry: string): Promise<string> {
  const dir = join(DIR, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  await build({
    entryPoints: [entry],
    outfile: join(dir, 'index.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: EXTERNAL_MODULES,
    plugins: [yamlPlugin()],
    logLevel: 'warning',
  })
  writeFileSync(join(dir, 'index.mjs'), LOADER)
  return join(dir, 'index.mjs')
}

interface Subject {
  label: string
  bundle: string
  target: Target
  env?: Record<string, string>
  execArgv?: string[]
  values: number[]
  verdicts: string[]
}

async function train(world: World, bundle: string, target: Target, cache: string, when: 'first' | 'import') {
  const { event } = await target.event(world)
  const res = await runInFreshProcess({ bundle, mode: when === 'first' ? 'cold' : 'import', events: [event] }, { env: { ...world.env, ...(target.env?.(world) ?? {}), CC_CACHE: cache, CC_TRAIN: when } })
  if (res.error || !existsSync(cache)) throw new Error(`training ${bundle} (${when}) failed: ${res.error ?? 'no cache written'}`)
}

async function main() {
  const i = process.argv.indexOf('--rounds')
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 11
  const oidcEntry = localOidcEntry('token')
  if (oidcEntry instanceof Error) throw oidcEntry
  const oidc = await scriptBundle('token-oidc', oidcEntry)
  const key = await scriptBundle('token-key', join(ROOT, 'functions', 'token', 'handler.ts'))
  const t = withSecrets(token, 'extension')
  const k = withSecrets(tokenShipped, 'extension')
  const world = await startWorld({})
  try {
    const caches = { oidcFirst: join(DIR, 'oidc-first.cache'), oidcImport: join(DIR, 'oidc-import.cache'), keyFirst: join(DIR, 'key-first.cache') }
    await train(world, oidc, t, caches.oidcFirst, 'first')
    await train(world, oidc, t, caches.oidcImport, 'import')
    await train(world, key, k, caches.keyFirst, 'first')
    const report = join(DIR, 'verdict')
    const s = (label: string, bundle: string, target: Target, env?: Record<string, string>, execArgv?: string[]): Subject => ({ label, bundle, target, env, execArgv, values: [], verdicts: [] })
    const subjects = [
      s('floor (b)', (await buildPeer('floor-necessary')).outfile, floorNecessary),
      s('OIDC, shipped ESM', (await t.build()).outfile, t),
      s('OIDC, script, no cache', oidc, t),
      s('OIDC, cache after import', oidc, t, { CC_CACHE: caches.oidcImport, CC_REPORT: report }),
      s('OIDC, cache after 1st req', oidc, t, { CC_CACHE: caches.oidcFirst, CC_REPORT: report }),
      s('key, shipped ESM', (await k.build()).outfile, k),
      s('key, script, no cache', key, k),
      s('key, cache after 1st req', key, k, { CC_CACHE: caches.keyFirst, CC_REPORT: report }),
      s('OIDC, no cache, Lambda flags', oidc, t, {}, LAMBDA_FLAGS),
      s('OIDC, cache, Lambda flags', oidc, t, { CC_CACHE: caches.oidcFirst, CC_REPORT: report }, LAMBDA_FLAGS),
    ]
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < subjects.length; j++) {
        const x = subjects[(j + r) % subjects.length]!
        rmSync(report, { force: true })
        const { event } = await x.target.event(world)
        const res = await runInFreshProcess(
          { bundle: x.bundle, mode: 'cold', events: [event], serverTimedOrigin: world.githosted.url },
          { env: { ...world.env, ...(x.target.env?.(world) ?? {}), ...(x.env ?? {}) }, execArgv: x.execArgv },
        )
        if (res.error || !res.first || !x.target.ok.includes(res.first.status)) throw new Error(`${x.label}: ${res.error ?? res.first?.status}`)
        x.values.push(res.importMs + res.first.ms - res.first.upstreamMs)
        if (existsSync(report)) x.verdicts.push(readFileSync(report, 'utf8'))
      }
    }
    const floor = median(subjects[0]!.values)
    console.log(`init + first request − upstream, median of ${rounds} fresh processes (${process.env.BENCH_NODE ? `BENCH_NODE=${process.env.BENCH_NODE}` : process.version})`)
    for (const x of subjects) {
      const m = median(x.values)
      const cache = x.verdicts.length ? `  cache ${[...new Set(x.verdicts)].join('/')}` : ''
      console.log(`${x.label.padEnd(28)} ${m.toFixed(2).padStart(7)} ms  ${(m / floor).toFixed(2)}× floor (b)${cache}`)
    }
    for (const [name, f] of Object.entries(caches)) console.log(`cache ${name}: ${(readFileSync(f).length / 1024).toFixed(1)} KB`)
  } finally {
    await world.close()
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
