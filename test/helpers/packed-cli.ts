/**
 * The npm package as an application repo gets it: `npm pack` of this repo
 * (prepack builds the CLI bundle), then the tarball installed offline into a
 * fresh temp "app repo" with nothing else in it.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './local-product.js'

export interface ShellRun {
  code: number
  out: string
  err: string
}

/** Runs a command with a clean environment: PATH, HOME, a private npm cache, and `env`. */
export function runIn(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}, work = cwd): Promise<ShellRun> {
  return new Promise((ok) => {
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' }
    execFile(cmd, args, { cwd, env: { ...base, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout, err: stderr })
    })
  })
}

export interface PackedApp {
  tarball: string
  /** Paths inside the tarball, sorted. */
  files: string[]
  /** The temp app repo with the package installed. */
  app: string
}

export async function packAndInstall(work: string): Promise<PackedApp> {
  const packed = await runIn(ROOT, 'npm', ['pack', '--json', '--pack-destination', work], {}, work)
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.err.slice(0, 500)}`)
  // prepack (the CLI build) prints to the same stdout first.
  const info = JSON.parse(packed.out.slice(packed.out.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>
  const tarball = join(work, info[0]!.filename)
  const app = join(work, 'app')
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'acme-app', version: '1.0.0', private: true }))
  const installed = await runIn(app, 'npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {}, work)
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed: ${installed.err.slice(0, 500)}`)
  return { tarball, files: info[0]!.files.map((f) => f.path).sort(), app }
}
