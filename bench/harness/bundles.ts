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
import { localOidcEntry } from './local-oidc-entry.js'
import type { Metafile } from './metafile.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const OUT = join(ROOT, 'dist', 'bench')

export interface BuiltBundle {
  /** e.g. 'token', 'token (AWS SDK external)', 'hello-hono' */
  label: string
  outfile: string
  bytes: number
  gzipBytes: number
  metafile: Metafile
}

/**
 * - bundled: exactly as build/bundle.ts ships it (AWS SDK inside);
 * - sdk-external: the AWS SDK left to the Lambda runtime (size comparison);
 * - local-oidc: as shipped, but trusting the bench OIDC issuer (see local-oidc-entry.ts).
 */
export type Variant = 'bundled' | 'sdk-external' | 'local-oidc'

/** Externalizing the SDK is what NodejsFunction does when it is taken from the Lambda runtime. */
const SDK_EXTERNAL = ['@aws-sdk/*', '@smithy/*']

async function finish(label: string, outfile: string): Promise<BuiltBundle> {
  const body = readFileSync(outfile)
  const metafile = JSON.parse(readFileSync(join(dirname(outfile), 'meta.json'), 'utf8')) as Metafile
  return { label, outfile, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length, metafile }
}

/** Whether functions/<name>/handler.ts exists yet. */
export function hasFunction(name: string): boolean {
  return existsSync(join(ROOT, 'functions', name, 'handler.ts'))
}

/** A product Lambda, as build/bundle.ts builds it (optionally with the AWS SDK left external). */
export async function buildFunction(name: string, variant: Variant = 'bundled'): Promise<BuiltBundle> {
  const outdir = join(OUT, variant, name)
  let entry: string | undefined
  if (variant === 'local-oidc') {
    const e = localOidcEntry(name)
    if (e instanceof Error) throw e
    entry = e
  }
  await bundleFunction(name, {
    outdir,
    external: variant === 'sdk-external' ? SDK_EXTERNAL : [],
    ...(entry ? { entry } : {}),
  })
  const label = { bundled: name, 'sdk-external': `${name} (AWS SDK external)`, 'local-oidc': `${name} (bench issuer)` }[variant]
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
