/**
 * Bundles each Lambda entry (functions/<name>/handler.ts) the way CDK's
 * NodejsFunction does: one minified ESM file per function, with a metafile
 * kept for size analysis. Tests and benchmarks invoke these bundles, so what
 * is tested is what ships.
 *
 * Usage: tsx build/bundle.ts [name ...]
 */
import { build } from 'esbuild'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
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
  outfile: string
  bytes: number
}

export async function bundleFunction(
  name: string,
  options: { outdir?: string; entry?: string; external?: string[] } = {},
): Promise<BundleResult> {
  const entry = options.entry ?? join(root, 'functions', name, 'handler.ts')
  const outdir = options.outdir ?? join(root, 'dist', name)
  mkdirSync(outdir, { recursive: true })
  const outfile = join(outdir, 'index.mjs')
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Lambda runs Node 22; developers and CI run Node 20. Target the older one.
    target: 'node20',
    minify: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    external: options.external ?? [],
    banner: { js: ESM_REQUIRE_BANNER },
    // config/policy.yaml is imported as JSON and validated at build time.
    plugins: [yamlPlugin()],
    logLevel: 'warning',
  })
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile))
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
  return { name, outfile, bytes }
}

async function main() {
  const requested = process.argv.slice(2)
  const names = requested.length > 0 ? requested : FUNCTIONS.filter((f) => existsSync(join(root, 'functions', f, 'handler.ts')))
  for (const name of names) {
    const r = await bundleFunction(name)
    console.log(`${r.name.padEnd(8)} ${(r.bytes / 1024).toFixed(1).padStart(8)} KB  ${r.outfile}`)
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
