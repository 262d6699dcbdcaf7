/**
 * Builds everything the benchmarks import, with the product's own bundler
 * (build/bundle.ts) so peers are built exactly like the functions they are
 * compared with. Output goes under dist/bench/ so a benchmark run never races
 * a test run that rebuilds dist/<fn>/.
 */
import { build } from 'esbuild'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { bundleFunction } from '../../build/bundle.js'
import { EXTERNAL_MODULES } from '../../infra/bundling.js'
import { localOidcEntry } from './local-oidc-entry.js'
import type { Metafile } from './metafile.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const OUT = join(ROOT, 'dist', 'bench')

export interface BuiltBundle {
  /** e.g. 'token', 'token (AWS SDK external)', 'hello-hono' */
  label: string
  /** The entry module (what module init loads). */
  outfile: string
  /** Entry module, minified. */
  bytes: number
  gzipBytes: number
  /** Entry plus every lazily loaded chunk (what ships). */
  totalBytes: number
  totalGzipBytes: number
  metafile: Metafile
}

/**
 * How the AWS SDK is packaged: `shipped` leaves out exactly what the CDK asset
 * leaves out (infra/bundling.ts EXTERNAL_MODULES, so the two cannot drift; the
 * bench runs inside the repo, so an external `@aws-sdk/*` resolves from
 * node_modules as it does from the Lambda runtime), `bundled` puts it in lazy
 * chunks (what a deployment without the runtime's SDK would need; reported for
 * information).
 */
export type SdkPackaging = 'shipped' | 'bundled'

export interface FunctionVariant {
  /** Default `shipped`. */
  sdk?: SdkPackaging
  /** `bench`: the handler with the policy's issuers pointed at the bench issuer (local-oidc-entry.ts). */
  issuer?: 'shipped' | 'bench'
}

/** The modules the Lambda asset takes from the runtime; only for `shipped` builds. */
export const SHIPPED_EXTERNAL: readonly string[] = EXTERNAL_MODULES

async function finish(label: string, outfile: string): Promise<BuiltBundle> {
  const metafile = JSON.parse(readFileSync(join(dirname(outfile), 'meta.json'), 'utf8')) as Metafile
  const gz = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length
  // Output paths in the metafile are relative to the directory esbuild ran in (the repo root).
  const outputs = Object.keys(metafile.outputs)
    .filter((f) => !f.endsWith('.map'))
    .map((f) => resolve(ROOT, f))
  const entry = readFileSync(outfile)
  return {
    label,
    outfile,
    bytes: entry.length,
    gzipBytes: gz(outfile),
    totalBytes: outputs.reduce((n, f) => n + readFileSync(f).length, 0),
    totalGzipBytes: outputs.reduce((n, f) => n + gz(f), 0),
    metafile,
  }
}

/** Whether functions/<name>/handler.ts exists yet. */
export function hasFunction(name: string): boolean {
  return existsSync(join(ROOT, 'functions', name, 'handler.ts'))
}

/** A product Lambda, built by build/bundle.ts with the asset's externals (or the SDK bundled). */
export async function buildFunction(name: string, variant: FunctionVariant = {}): Promise<BuiltBundle> {
  const sdk = variant.sdk ?? 'shipped'
  const issuer = variant.issuer ?? 'shipped'
  const outdir = join(OUT, `${sdk}-sdk`, issuer === 'bench' ? `${name}-bench-issuer` : name)
  let entry: string | undefined
  if (issuer === 'bench') {
    const e = localOidcEntry(name)
    if (e instanceof Error) throw e
    entry = e
  }
  await bundleFunction(name, {
    outdir,
    external: sdk === 'shipped' ? [...SHIPPED_EXTERNAL] : [],
    ...(entry ? { entry } : {}),
  })
  const label = `${name}${issuer === 'bench' ? ' (bench issuer)' : ''}${sdk === 'bundled' ? ' (AWS SDK bundled)' : ''}`
  return finish(label, join(outdir, 'index.mjs'))
}

/** A comparison entry from bench/peers/<name>.ts, built with the same options as the functions. */
export async function buildPeer(name: string): Promise<BuiltBundle> {
  const outdir = join(OUT, 'peers', name)
  await bundleFunction(name, { outdir, entry: join(ROOT, 'bench', 'peers', `${name}.ts`) })
  return finish(name, join(outdir, 'index.mjs'))
}

let childPath: string | undefined

/** The Lambda-container child, bundled once per run so the child runs plain JavaScript. */
export async function buildLambdaChild(): Promise<string> {
  if (childPath) return childPath
  const outfile = join(OUT, 'lambda-child.mjs')
  await build({
    entryPoints: [join(ROOT, 'bench', 'harness', 'lambda-child.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  })
  childPath = outfile
  return outfile
}
