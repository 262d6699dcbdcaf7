/**
 * Tees everything the code under test writes to stdout/stderr (console,
 * loggers, audit lines) into test-artifacts/logs, so that the global teardown
 * can prove no secret reached a log line anywhere in the run.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = join(process.cwd(), 'test-artifacts', 'logs')
mkdirSync(dir, { recursive: true })
const file = join(dir, `worker-${process.pid}.log`)

for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    try {
      appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array))
    } catch {
      // Losing a capture line must not break the test that wrote it.
    }
    return original(chunk, ...rest)
  }) as typeof stream.write
}
