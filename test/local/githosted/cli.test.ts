import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { repoClient } from './support.js'

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx')
const CLI = join(process.cwd(), 'local', 'githosted', 'cli.ts')

let child: ChildProcess | undefined
let dir: string | undefined

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
  child = undefined
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

/**
 * Runs the CLI with its output captured in memory only: the seeded run prints
 * a real token, which must never reach the test log.
 */
function run(args: string[]): { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const proc = spawn(TSX, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, out: () => out, err: () => err, exit }
}

describe('githosted-local CLI', () => {
  it.each([
    [['--port', 'abc'], '--port must be an integer'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--seed', 'extra'], 'positional'],
  ])('exits 2 with a message for %j', async (args, message) => {
    const r = run(args)
    child = r.proc
    expect(await r.exit).toBe(2)
    expect(r.err()).toContain(message)
    expect(r.err()).toContain('Usage:')
  })

  it('prints help and exits 0', async () => {
    const r = run(['--help'])
    child = r.proc
    expect(await r.exit).toBe(0)
    expect(r.out()).toContain('--data DIR')
  })

  it('--seed prints a URL and one bootstrap token line that works', async () => {
    dir = await mkdtemp(join(tmpdir(), 'githosted-cli-'))
    const r = run(['--data', dir, '--port', '0', '--seed'])
    child = r.proc
    const deadline = Date.now() + 30_000
    while (!r.out().includes('bootstrap token') && r.proc.exitCode === null && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50))
    }
    const out = r.out()
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out)?.[1]
    const tokenLines = out.split('\n').filter((l) => l.includes('gw_'))
    const token = /^bootstrap token \(write, gw_\): (gw_[A-Za-z0-9]{40})$/.exec(tokenLines[0] ?? '')?.[1]
    expect(url).toBeDefined()
    expect(tokenLines.length).toBe(1)
    expect(token !== undefined).toBe(true)
    const branches = await repoClient(url!, token!).listBranches({ repoRef: 'deploy-configs' })
    expect(branches.branches.map((b) => b.name)).toEqual(['main'])
    r.proc.kill('SIGTERM')
    expect(await r.exit).toBe(0)
  })
})
