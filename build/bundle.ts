/**
 * Bundles each Lambda entry (functions/<name>/handler.ts): minified ESM with a
 * metafile kept for size analysis. Tests, benchmarks and the CDK assets all
 * come from here, so what is tested is what ships.
 *
 * Code splitting is on: everything a function imports lazily (the AWS SDK
 * clients, loaded on the first secret fetch; the DynamoDB replay store) lands
 * in chunks/ next to index.mjs, so module init parses only what every request
 * needs. The SDK is still bundled (its version is the one the tests ran), it
 * is just not on the cold-start path of a module load.
 *
 * Usage: tsx build/bundle.ts [name ...]
 */
import { build, type Plugin } from 'esbuild'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { yamlPlugin } from './yaml-plugin.js'

export const FUNCTIONS = ['token', 'deploy', 'status', 'events'] as const
export type FunctionName = (typeof FUNCTIONS)[number]

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Some dependencies still `require()` Node built-ins; ESM output needs a real `require`. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

export interface BundleResult {
  name: string
  /** The entry module (`index.mjs`; Lambda handler `index.handler`). */
  outfile: string
  /** Bytes of the entry module: what module init loads. */
  bytes: number
  /** Bytes of the entry and every lazily loaded chunk. */
  totalBytes: number
}

export interface BundleOptions {
  outdir?: string
  entry?: string
  external?: string[]
  /** Default node20 (what developers and CI run); CDK passes node22 for Lambda. */
  target?: string
  /** Emit linked source maps (opt-in: they slow cold starts with --enable-source-maps). */
  sourcemap?: boolean
  /**
   * Where the esbuild metafile goes: default `<outdir>/meta.json` (dist/, for
   * benchmarks and tests); `false` for none. CDK assets put it outside the
   * asset: its paths are machine-specific and would change the asset hash.
   */
  metafilePath?: string | false
  /** A directory whose files replace the same-named files of config/ in the bundle (per-stage policy and mapping). */
  configDir?: string
}

/**
 * Redirects imports of `<project>/config/<file>` to `<dir>/<file>` when that
 * file exists, so a stage can carry its own policy.yaml or deploy-mapping.json
 * while the handlers keep importing config/.
 */
export function configOverridePlugin(projectConfig: string, dir: string): Plugin {
  return {
    name: 'stage-config',
    setup(b) {
      b.onResolve({ filter: /config\/[^/]+$/ }, (args) => {
        const target = resolve(args.resolveDir, args.path)
        if (dirname(target) !== projectConfig) return undefined
        const replacement = join(dir, basename(target))
        return existsSync(replacement) ? { path: replacement } : undefined
      })
    },
  }
}

export async function bundleFunction(
  name: string,
  options: BundleOptions = {},
): Promise<BundleResult> {
  const entry = options.entry ?? join(root, 'functions', name, 'handler.ts')
  const plugins = [yamlPlugin()]
  if (options.configDir) plugins.unshift(configOverridePlugin(resolve(dirname(entry), '..', '..', 'config'), resolve(options.configDir)))
  const outdir = options.outdir ?? join(root, 'dist', name)
  mkdirSync(outdir, { recursive: true })
  const outfile = join(outdir, 'index.mjs')
  const result = await build({
    entryPoints: { index: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Prefer packages' ESM builds: they split and tree-shake cleanly (the AWS
    // SDK's CJS build loses its named exports across a lazy chunk boundary).
    mainFields: ['module', 'main'],
    target: options.target ?? 'node20',
    minify: true,
    sourcemap: options.sourcemap ? 'linked' : false,
    metafile: true,
    legalComments: 'none',
    // Paths as the checkout has them (a node_modules reached through a symlink keeps its
    // in-checkout path), so chunk names and asset hashes do not depend on where the real files are.
    preserveSymlinks: true,
    external: options.external ?? [],
    banner: { js: ESM_REQUIRE_BANNER },
    // config/policy.yaml is imported as JSON and validated at build time.
    plugins,
    logLevel: 'warning',
  })
  const metafilePath = options.metafilePath ?? join(outdir, 'meta.json')
  if (metafilePath) {
    mkdirSync(dirname(metafilePath), { recursive: true })
    writeFileSync(metafilePath, JSON.stringify(result.metafile))
  }
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'))
  const bytes = outputs.find(([file]) => resolve(file) === outfile)?.[1].bytes ?? 0
  const totalBytes = outputs.reduce((n, [, o]) => n + o.bytes, 0)
  return { name, outfile, bytes, totalBytes }
}

async function main() {
  const requested = process.argv.slice(2)
  const names = requested.length > 0 ? requested : FUNCTIONS.filter((f) => existsSync(join(root, 'functions', f, 'handler.ts')))
  for (const name of names) {
    const r = await bundleFunction(name)
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`.padStart(9)
    console.log(`${r.name.padEnd(8)} entry ${kb(r.bytes)}  with lazy chunks ${kb(r.totalBytes)}  ${r.outfile}`)
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
