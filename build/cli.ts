/**
 * Bundles the `githosted-ci` CLI and the GitHub Action entry into single,
 * dependency-free files: what `npm pack` ships (package.json `files`) and what
 * action.yml runs. Node built-ins only at run time; no node_modules needed.
 *
 * Usage: tsx build/cli.ts
 */
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESM_REQUIRE_BANNER } from './bundle.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export const CLI_ENTRIES = {
  /** package.json bin: githosted-ci */
  'githosted-ci': join(root, 'cli', 'bin.ts'),
  /** action.yml runs.main and runs.post */
  action: join(root, 'cli', 'action-main.ts'),
} as const

export const CLI_OUTDIR = join(root, 'dist', 'cli')

export async function bundleCli(outdir = CLI_OUTDIR): Promise<Record<keyof typeof CLI_ENTRIES, string>> {
  mkdirSync(outdir, { recursive: true })
  await build({
    entryPoints: CLI_ENTRIES,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // One file per entry: `npx githosted-ci` and the Actions runner load exactly one module.
    splitting: false,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    // The Action runs on node24 (runs.using; GitHub removed node20 from its runners in September 2026) and the CLI on any Node 20+: node20 syntax serves both.
    target: 'node20',
    minify: true,
    legalComments: 'none',
    banner: { js: `#!/usr/bin/env node\n${ESM_REQUIRE_BANNER}` },
    logLevel: 'warning',
  })
  return {
    'githosted-ci': join(outdir, 'githosted-ci.mjs'),
    action: join(outdir, 'action.mjs'),
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleCli().then(
    (files) => {
      for (const f of Object.values(files)) console.log(f)
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err)
      process.exit(1)
    },
  )
}
