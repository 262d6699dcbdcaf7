/**
 * What each dependency costs at INIT: tiny bundles that import one component
 * each (`export *`, so nothing is tree-shaken away), built with the product's
 * bundler and imported in fresh processes. It explains a cold-start budget
 * miss by component instead of by guess.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundleFunction } from '../../build/bundle.js'
import { OUT, ROOT } from './bundles.js'

export interface Probe {
  name: string
  /** Module specifiers (package names or repo-relative paths) re-exported by the probe. */
  modules: string[]
}

/** Builds the probe and returns its bundle path and size. */
export async function buildProbe(probe: Probe): Promise<{ outfile: string; bytes: number }> {
  const dir = join(OUT, 'gen', 'probes')
  mkdirSync(dir, { recursive: true })
  const entry = join(dir, `${probe.name.replace(/[^a-z0-9]+/gi, '-')}.ts`)
  const spec = (m: string) => (m.startsWith('functions/') ? join(ROOT, m).replace(/\.ts$/, '.js') : m)
  writeFileSync(entry, probe.modules.map((m, i) => `export * as m${i} from '${spec(m)}'\n`).join(''))
  const r = await bundleFunction(probe.name, { entry, outdir: join(OUT, 'probes', probe.name.replace(/[^a-z0-9]+/gi, '-')) })
  return { outfile: r.outfile, bytes: r.totalBytes }
}
