/**
 * Where `npm start` writes its request and audit logs: a file under the data
 * directory by default, so the banner (URLs, broker key, commands) stays on
 * screen; `--verbose` also streams them to stderr.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger, type Logger } from '../functions/lib/observability/logger.js'

export interface LocalLogs {
  logger: Logger
  /** The log file (appended to across restarts). */
  file: string
  /** Lines that are already formatted (broker processes' output). */
  writeRaw(text: string): void
  close(): Promise<void>
}

export function openLocalLogs(dataDir: string, options: { verbose: boolean }): LocalLogs {
  const dir = join(dataDir, 'logs')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'broker.log')
  const stream = createWriteStream(file, { flags: 'a' })
  const logger = createLogger({
    base: { app: 'local-broker' },
    sink: (line) => {
      stream.write(`${line}\n`)
      if (options.verbose) process.stderr.write(`${line}\n`)
    },
  })
  const writeRaw = (text: string) => {
    stream.write(text)
    if (options.verbose) process.stderr.write(text)
  }
  return { logger, file, writeRaw, close: () => new Promise<void>((resolve) => stream.end(resolve)) }
}
