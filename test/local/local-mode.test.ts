/**
 * Local mode in real use: logs kept off the terminal, one instance per data
 * directory, port clashes explained, stop requests from any process of
 * `npm start` (including npm itself) freeing every port, --policy, and
 * custom claims on local ID tokens. Real child processes, real ports (0).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, startProduct, stopProduct, type StartedProduct } from '../helpers/local-product.js'

let work: string
const started: ChildProcess[] = []

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'local-mode-'))
})

afterEach(async () => {
  await Promise.all(started.splice(0).map(stopProduct))
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

async function start(dir: string, extra: string[] = [], options: { viaNpm?: boolean } = {}) {
  const r = await startProduct(join(work, dir), extra, options)
  started.push(r.child)
  return r
}

/** Runs local/start.ts to its exit (it is expected to fail fast); returns exit code and stderr. */
function runToExit(args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'start.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  started.push(child)
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((ok) => child.once('exit', (code) => ok({ code, err })))
}

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((ok) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => {
      socket.destroy()
      ok(false)
    })
    socket.once('error', () => ok(true))
  })
}

/** Waits (bounded) until nothing listens on any of `urls` any more. */
async function portsFreed(urls: string[]): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await Promise.all(urls.map(refused))).every(Boolean)) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

const deploy = (s: StartedProduct, image: string) =>
  fetch(`${s.broker}/v1/deploys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.brokerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: 'deploy-configs', environment: 'staging', image }),
  })

describe('npm start, local mode', () => {
  it('keeps request and audit logs in <data>/logs/ instead of on the terminal', async () => {
    const { info: s, stdout } = await start('logs')
    expect((await deploy(s, 'ghcr.io/acme/app:2.2.2')).status).toBe(200)
    expect(s.logFile).toBe(join(work, 'logs', 'logs', 'broker.log'))
    await expect.poll(() => readFileSync(s.logFile, 'utf8'), { timeout: 5000 }).toContain('"event":"deploy.apply"')
    // Only the one JSON line reached stdout.
    expect(stdout().trim().split('\n')).toHaveLength(1)
  })

  it('refuses a second instance on the same data directory, and explains a port clash with --port 0', async () => {
    const { info: s } = await start('locked')
    const second = await runToExit(['--port', '0', '--githosted-port', '0', '--data', join(work, 'locked'), '--json'])
    expect(second.code).toBe(1)
    expect(second.err).toContain(`is in use by another npm start (pid ${s.pid})`)
    expect(second.err).toContain('--data DIR')

    const port = new URL(s.broker).port
    const clash = await runToExit(['--port', port, '--githosted-port', '0', '--data', join(work, 'clash'), '--json'])
    expect(clash.code).toBe(1)
    expect(clash.err).toContain(`port ${port} is already in use`)
    expect(clash.err).toContain('--port 0 for any free port')
    const ghPort = new URL(s.githosted).port
    const ghClash = await runToExit(['--port', '0', '--githosted-port', ghPort, '--data', join(work, 'clash2'), '--json'])
    expect(ghClash.err).toContain('--githosted-port 0 for any free port')
  })

  it('SIGTERM to the npm process stops everything and frees the ports; so does SIGINT to the server process', async () => {
    const viaNpm = await start('signals', [], { viaNpm: true })
    const urls = [viaNpm.info.broker, viaNpm.info.githosted, viaNpm.info.oidcIssuer]
    expect(await refused(viaNpm.info.broker)).toBe(false)
    viaNpm.child.kill('SIGTERM')
    expect(await portsFreed(urls)).toBe(true)

    const again = await start('signals', [], { viaNpm: true })
    process.kill(again.info.pid, 'SIGINT')
    expect(await portsFreed([again.info.broker, again.info.githosted, again.info.oidcIssuer])).toBe(true)
    // The lock went with it: the same directory starts again.
    const third = await start('signals')
    expect(third.info.pid).not.toBe(again.info.pid)
  })

  it('--policy FILE replaces the local policy', async () => {
    const policy = join(work, 'read-only.yaml')
    writeFileSync(
      policy,
      'version: 1\nrules:\n  - name: read-only\n    match:\n      brokerKey: local\n    grant:\n      repos: [deploy-configs]\n      permission: read\n      maxTtl: 15m\n',
    )
    const { info: s } = await start('policy', ['--policy', policy])
    expect(s.policyFile).toBe(policy)
    const res = await deploy(s, 'ghcr.io/acme/app:3.3.3')
    expect(res.status).toBe(403)
  })

  it('/_local/id-token takes claim.NAME=VALUE, so denials can be tried', async () => {
    const { info: s } = await start('claims')
    const mint = async (query: string) => {
      const idToken = await (await fetch(`${s.broker}/_local/id-token?provider=github${query}`)).text()
      return fetch(`${s.broker}/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${idToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'deploy-configs', permission: 'read' }),
      })
    }
    expect((await mint('&claim.ref=refs/heads/feature')).status).toBe(403)
    expect((await mint('&claim.ref=refs/heads/main')).status).toBe(201)
    expect((await mint('&claim.repository=')).status).toBe(403)
  })
})
