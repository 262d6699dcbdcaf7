/**
 * Runs once around the whole test run. Teardown scans every captured log line
 * (see log-capture.ts) and fails the run if a token, broker key or JWT leaked.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { findSecrets } from './secret-patterns.js'

const dir = join(process.cwd(), 'test-artifacts', 'logs')

export function setup() {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true })
}

export function teardown() {
  if (!existsSync(dir)) return
  const hits: string[] = []
  let lines = 0
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8')
    lines += text.split('\n').length
    hits.push(...findSecrets(text).map((h) => `${f}: ${h}`))
  }
  if (hits.length > 0) {
    // vitest ignores errors thrown from global teardown; set the exit code instead.
    console.error(`secret scan FAILED: ${hits.length} log line(s) contain secrets:\n${hits.slice(0, 20).join('\n')}`)
    process.exitCode = 1
    return
  }
  console.log(`secret scan: ${lines} captured log lines, no token, broker key or JWT found`)
}
