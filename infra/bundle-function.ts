/**
 * Bundles one function into a CDK asset directory with build/bundle.ts (the
 * bundler the tests and benchmarks use). Run by infra/bundling.ts during synth:
 *
 *   node --import tsx infra/bundle-function.ts <name> <outdir> --metafile=path [--entry=path] [--config-dir=path]
 *        [--sourcemap] [--external=a,b]
 *
 * Produces <outdir>/index.mjs (handler `index.handler`) and nothing else that
 * depends on the machine: the esbuild metafile (absolute and checkout-relative
 * paths) goes to --metafile, outside the asset, so the asset hash is the same
 * from any checkout.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { bundleFunction, FUNCTIONS } from '../build/bundle.js'

async function main(): Promise<void> {
  const [name, outdir, ...flags] = process.argv.slice(2)
  if (!name || !outdir || !(FUNCTIONS as readonly string[]).includes(name)) {
    throw new Error(`usage: bundle-function.ts <${FUNCTIONS.join('|')}> <outdir> --metafile=path [--entry=path] [--config-dir=path] [--sourcemap] [--external=a,b]`)
  }
  const sourcemap = flags.includes('--sourcemap')
  const value = (flag: string) => flags.find((f) => f.startsWith(`--${flag}=`))?.slice(flag.length + 3)
  const external = value('external')?.split(',') ?? []
  const entry = value('entry')
  const metafilePath = value('metafile')
  const configDir = value('config-dir')
  if (!metafilePath) throw new Error('--metafile=<path outside the asset directory> is required')

  // Lambda runs node22; source maps are opt-in. Checked below, not assumed.
  const options: Parameters<typeof bundleFunction>[1] = {
    outdir,
    external,
    ...(entry ? { entry } : {}),
    target: 'node22',
    sourcemap,
    metafilePath,
    ...(configDir ? { configDir } : {}),
  }
  const result = await bundleFunction(name, options)

  if (sourcemap && !readdirSync(outdir).some((f) => f.endsWith('.map'))) {
    throw new Error(
      'sourceMaps=true but build/bundle.ts wrote no source map',
    )
  }
  if (!existsSync(join(outdir, 'index.mjs'))) throw new Error(`no index.mjs in ${outdir}`)
  console.log(`bundled functions/${name}: ${(result.bytes / 1024).toFixed(1)} KB (metafile: ${metafilePath})`)
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
