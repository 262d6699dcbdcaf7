/**
 * A tiny structured logger: one JSON object per line on stdout, which is what
 * CloudWatch Logs and Logs Insights want. Kept dependency-free because every
 * Lambda bundle carries it. It redacts anything that looks like a credential
 * as a last line of defence; callers must still never pass secrets in.
 */
import { observeLogRecord } from './invocation.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

// Tokens, broker keys and JWTs. Matches what test/setup/secret-patterns.ts scans for.
const SECRET_RE =
  /\b(?:gw|gr|gbk)_[A-Za-z0-9_-]{8,}|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g

/** Replaces credential-looking substrings; exported for error messages built from foreign input. */
export function redact(text: string): string {
  return text.replace(SECRET_RE, (m) => `${m.slice(0, 3)}<redacted>`)
}

export interface LoggerOptions {
  level?: LogLevel
  /** Where lines go; defaults to stdout. Tests and benchmarks inject their own. */
  sink?: (line: string) => void
  base?: Record<string, unknown>
  clock?: () => Date
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? ((process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info')] ?? 20
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'))
  const clock = options.clock ?? (() => new Date())
  const base = options.base ?? {}

  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return
    // On Lambda: adds coldStart/traceId/awsRequestId and derives the metrics (lib/observability).
    const record = observeLogRecord({ level, time: clock().toISOString(), message, ...base, ...fields })
    let line: string
    try {
      line = JSON.stringify(record, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v))
    } catch {
      line = JSON.stringify({ level, time: record.time, message, note: 'fields not serializable' })
    }
    sink(redact(line))
  }

  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  }
}

/** A logger that drops everything (for tests that do not care). */
export const silentLogger: Logger = createLogger({ sink: () => {} })
