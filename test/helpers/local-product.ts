/**
 * `npm start` (local/start.ts) as a child process on ephemeral ports, for
 * tests that drive the whole local product over HTTP. Its --json line
 * carries a broker key: parsed in memory, never printed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..', '..')

export interface StartedProduct {
  broker: string
  githosted: string
  dashboard: string
  brokerKey: string
  oidcIssuer: string
  dataDir: string
  logFile: string
  policyFile: string
  /** The process serving the ports (under npm and tsx there are several). */
  pid: number
}

export function startProduct(
  dataDir: string,
  extra: string[] = [],
  options: { viaNpm?: boolean } = {},
): Promise<{ child: ChildProcess; info: StartedProduct; stdout: () => string }> {
  const args = ['--port', '0', '--githosted-port', '0', '--data', dataDir, '--json', ...extra]
  // viaNpm: exactly what a person runs (npm -> sh -> tsx -> node), for signal handling.
  const child = options.viaNpm
    ? spawn('npm', ['start', '--silent', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'start.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((ok, ko) => {
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) ok({ child, info: JSON.parse(line) as StartedProduct, stdout: () => out })
    })
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.once('exit', (code) => ko(new Error(`npm start exited ${code}: ${err.slice(0, 500)}`)))
  })
}

export function stopProduct(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok()
    child.once('exit', () => ok())
    child.kill('SIGTERM')
  })
}
