/**
 * The one way a decision gets its audit line: run the use case, then write
 * exactly one record for its outcome, whatever it was. Every service (token,
 * deploy) goes through here, so an outcome means the same thing everywhere:
 * `allowed` when the use case returned, `denied` when the caller's request
 * was refused (any 4xx: nothing was done), `error` when we failed (5xx).
 * The metrics derived from audit lines (observability/metrics.ts) rely on
 * that split: a failure alarm must not fire on a client's mistake.
 */
import type { CallerIdentity } from '../auth/types.js'
import { AppError } from '../errors.js'
import type { Decision } from '../policy/types.js'
import type { Auditor, AuditRecord } from './audit.js'
import type { Logger } from '../observability/logger.js'

/** Where the call came from, whatever transport received it. */
export interface CallContext {
  requestId: string
  sourceIp?: string
}

/** Filled in by the use case as it learns things, so a failure's line says how far it got. */
export interface AuditScope {
  identity?: CallerIdentity
  decision?: Decision
  repos?: string[]
  permission?: string
  ttlSeconds?: number
  tokenId?: string
  /** Safe, useful context kept on success and failure alike (environment, rollback target, ...). */
  extra?: Record<string, unknown>
}

/** What an allowed outcome's line says beyond the scope. */
export interface AuditSummary {
  reason: string
  tokenFingerprint?: string
  extra?: Record<string, unknown>
}

export interface AuditSinks {
  auditor: Auditor
  logger: Logger
}

export async function audited<T>(
  sinks: AuditSinks,
  call: CallContext,
  event: string,
  run: (scope: AuditScope) => Promise<T>,
  summarize: (out: T, scope: AuditScope) => AuditSummary,
): Promise<T> {
  const scope: AuditScope = {}
  const base = (): Omit<AuditRecord, 'outcome' | 'code' | 'reason'> => ({
    event,
    requestId: call.requestId,
    identity: scope.identity,
    rule: scope.decision?.rule,
    repos: scope.repos,
    permission: scope.permission,
    ttlSeconds: scope.ttlSeconds,
    tokenId: scope.tokenId,
    sourceIp: call.sourceIp,
  })
  let out: T
  try {
    out = await run(scope)
  } catch (err) {
    const known = err instanceof AppError ? err : undefined
    sinks.auditor.record({
      ...base(),
      outcome: known && known.status < 500 ? 'denied' : 'error',
      code: known?.code ?? 'INTERNAL',
      reason: known?.message ?? 'internal error',
      // The full policy trace (every rule, with required values) is for operators; the caller got decision.reason.
      extra: { ...scope.extra, ...(scope.decision ? { trace: scope.decision.trace } : {}) },
    })
    if (!known) sinks.logger.error('unhandled error', { requestId: call.requestId, event, error: err })
    throw err
  }
  const summary = summarize(out, scope)
  sinks.auditor.record({
    ...base(),
    outcome: 'allowed',
    code: 'OK',
    reason: summary.reason,
    tokenFingerprint: summary.tokenFingerprint,
    extra: { ...scope.extra, ...summary.extra },
  })
  return out
}
