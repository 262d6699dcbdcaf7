/**
 * The broker's metrics, derived in one place from the log records the
 * functions already write (audit lines, the events function's outcome lines,
 * the deploy core's commit lines), so no app code calls a metrics API.
 *
 * Convention for other modules: a log record with `dependency`
 * ('githosted' | 'dynamodb') and a numeric `latencyMs` becomes a
 * DependencyLatency point; a numeric `leaseWaitMs` becomes a LeaseWait point.
 */
import type { MetricPoint } from './emf.js'

/** CloudWatch namespace of the broker's metrics (infra/alarms.ts and infra/dashboard.ts read the same). */
export const METRICS_NAMESPACE = 'GithostedCiBroker'

// Codes as logged (the wire strings): the error classes live in folders that log through this one,
// so importing them here would be a cycle. githosted's own failures; a stale head or an
// expectedHead mismatch is contention, not an outage.
const GITHOSTED_FAILURE = /^(GITHOSTED_(TIMEOUT|REPO_BUSY|UNAVAILABLE|ERROR)|UPSTREAM_FAILED)$/
const CONFLICT = new Set(['CONFLICT', 'DEPLOY_CONFLICT', 'DEPLOY_CONTENTION', 'GITHOSTED_STALE_HEAD'])

const count = (name: string, dimensions?: Record<string, string>): MetricPoint => ({ name, unit: 'Count', value: 1, ...(dimensions ? { dimensions } : {}) })

/** The metric points one log record stands for (none for most lines). */
export function metricsFromRecord(record: Record<string, unknown>): MetricPoint[] {
  const points: MetricPoint[] = []
  const code = typeof record.code === 'string' ? record.code : ''
  if (record.audit === 1 && typeof record.event === 'string') {
    const event = record.event
    const outcome = record.outcome
    points.push(count('Operations'))
    if (GITHOSTED_FAILURE.test(code)) points.push(count('GithostedErrors'))
    if (event === 'token.mint') {
      if (outcome === 'allowed' && record.dryRun !== true) points.push(count('TokensIssued'))
      else if (outcome !== 'allowed') points.push(count('TokensDenied', { Reason: code || 'UNKNOWN' }))
    } else if (event === 'deploy.apply' || event === 'deploy.rollback') {
      if (outcome === 'allowed') points.push(count('DeploysApplied'))
      else if (CONFLICT.has(code)) points.push(count('DeploysConflicted'))
      else if (outcome === 'error') points.push(count('DeploysFailed', { Reason: code || 'INTERNAL' }))
      else points.push(count('DeploysDenied', { Reason: code || 'UNKNOWN' }))
    }
  } else if (record.fn === 'events' && record.message === 'event applied' && typeof record.outcome === 'string') {
    points.push(count('Operations'), count('EventsApplied', { Outcome: record.outcome }))
  } else if (record.fn === 'events' && typeof record.message === 'string' && record.message.startsWith('event failed')) {
    points.push(count('Operations'), count('EventsFailed'))
  }
  if (record.message === 'deploy committed' && typeof record.repairs === 'number' && record.repairs > 0) {
    points.push({ name: 'Repairs', unit: 'Count', value: record.repairs })
  }
  if ((record.dependency === 'githosted' || record.dependency === 'dynamodb') && typeof record.latencyMs === 'number') {
    points.push({ name: 'DependencyLatency', unit: 'Milliseconds', value: record.latencyMs, dimensions: { Dependency: record.dependency } })
  }
  if (typeof record.leaseWaitMs === 'number') points.push({ name: 'LeaseWait', unit: 'Milliseconds', value: record.leaseWaitMs })
  return points
}
