/**
 * Tees everything the code under test writes to stdout/stderr (console,
 * loggers, audit lines) into test-artifacts/logs, so that the global teardown
 * can prove no secret reached a log line anywhere in the run.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'

const dir = join(process.cwd(), 'test-artifacts', 'logs')
mkdirSync(dir, { recursive: true })
const file = join(dir, `worker-${process.pid}.log`)

const append = (chunk: unknown) => {
  try {
    appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array))
  } catch {
    // Losing a capture line must not break the test that wrote it.
  }
}

// vitest forwards console output from workers without going through the
// worker's process.stdout, so console methods are captured on their own.
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console)
  console[method] = (...args: unknown[]) => {
    append(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ') + '\n')
    original(...args)
  }
}

for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    append(chunk)
    return original(chunk, ...rest)
  }) as typeof stream.write
}
