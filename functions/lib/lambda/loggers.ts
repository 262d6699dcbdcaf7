/** Loggers of a function that writes audit lines (token, deploy). */
import { createAuditor, type Auditor } from '../audit/audit.js'
import { createLogger, type Logger } from '../observability/logger.js'
import type { BuildOptions } from './build-options.js'

/**
 * The function's logger (LOG_LEVEL applies) and its auditor, which logs at
 * info whatever LOG_LEVEL says: audit lines are security records, and
 * LOG_LEVEL=warn must not drop them. `options.logger` replaces both sinks.
 */
export function functionLoggers(fn: string, options: BuildOptions): { logger: Logger; auditor: Auditor } {
  return {
    logger: options.logger ?? createLogger({ base: { fn } }),
    auditor: createAuditor(options.logger ?? createLogger({ level: 'info', base: { fn } })),
  }
}
