/**
 * Observability through the real logger and auditor: log lines of a wrapped
 * invocation carry coldStart/traceId/awsRequestId, and the metrics derived
 * from them come out as valid EMF documents when the invocation ends.
 */
import { describe, expect, it } from 'vitest'
import { createAuditor } from '../../../../functions/lib/audit/audit.js'
import { createLogger } from '../../../../functions/lib/observability/logger.js'
import { emfLines } from '../../../../functions/lib/observability/emf.js'
import { observed, traceRoot } from '../../../../functions/lib/observability/invocation.js'
import { metricsFromRecord } from '../../../../functions/lib/observability/metrics.js'

const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'

function harness() {
  const logs: any[] = []
  const emf: any[] = []
  const logger = createLogger({ sink: (l) => logs.push(JSON.parse(l)), base: { fn: 'token' } })
  const auditor = createAuditor(logger)
  const wrap = <E, R>(h: (e: E, c: { awsRequestId: string }) => Promise<R>) =>
    observed(h, { sink: (l) => emf.push(JSON.parse(l)), env: { _X_AMZN_TRACE_ID: TRACE, BROKER_STAGE: 'prod' }, clock: () => 1764583200000 })
  return { logs, emf, logger, auditor, wrap }
}

const mint = (outcome: 'allowed' | 'denied' | 'error', code: string) => ({ event: 'token.mint', requestId: 'r', outcome, code, reason: 'x' })

describe('observed handlers', () => {
  it('marks the first invocation of the container cold, and every line with the trace and request ids', async () => {
    const h = harness()
    // A fresh module state per test file: this is the container's first wrapped invocation.
    const handler = h.wrap(async (_e: unknown) => {
      h.logger.info('working')
      return 'ok'
    })
    await handler({}, { awsRequestId: 'req-1' })
    await handler({}, { awsRequestId: 'req-2' })
    expect(h.logs.map((l) => [l.coldStart, l.awsRequestId, l.traceId])).toEqual([
      [true, 'req-1', '1-5759e988-bd862e3fe1be46a994272793'],
      [false, 'req-2', '1-5759e988-bd862e3fe1be46a994272793'],
    ])
    // Outside an invocation (tests, npm start) nothing is added.
    h.logger.info('outside')
    expect(h.logs.at(-1)).not.toHaveProperty('coldStart')
    expect(h.emf).toEqual([])
  })

  it('turns audit lines into EMF counters, with a stage-only total next to the per-reason series', async () => {
    const h = harness()
    const handler = h.wrap(async () => {
      h.auditor.record(mint('allowed', 'OK'))
      h.auditor.record(mint('allowed', 'OK'))
      h.auditor.record(mint('denied', 'FORBIDDEN'))
    })
    await handler({}, { awsRequestId: 'req-3' })
    const stageOnly = h.emf.find((d) => d.Reason === undefined)!
    expect(stageOnly._aws).toEqual({
      Timestamp: 1764583200000,
      CloudWatchMetrics: [{ Namespace: 'GithostedCiBroker', Dimensions: [['Stage']], Metrics: [{ Name: 'Operations', Unit: 'Count' }, { Name: 'TokensIssued', Unit: 'Count' }] }],
    })
    expect(stageOnly).toMatchObject({ Stage: 'prod', Operations: 3, TokensIssued: 2 })
    const denied = h.emf.find((d) => d.Reason === 'FORBIDDEN')!
    expect(denied._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Stage'], ['Stage', 'Reason']])
    expect(denied.TokensDenied).toBe(1)
  })

  it('writes the metrics of an invocation that throws', async () => {
    const h = harness()
    const handler = h.wrap(async () => {
      h.auditor.record({ event: 'deploy.apply', requestId: 'r', outcome: 'error', code: 'GITHOSTED_TIMEOUT', reason: 'githosted timed out' })
      throw new Error('boom')
    })
    await expect(handler({}, { awsRequestId: 'req-4' })).rejects.toThrow('boom')
    expect(h.emf.find((d) => d.Reason === undefined)).toMatchObject({ Operations: 1, GithostedErrors: 1 })
    expect(h.emf.find((d) => d.Reason === 'GITHOSTED_TIMEOUT')).toMatchObject({ DeploysFailed: 1 })
  })
})

describe('metricsFromRecord', () => {
  it('tells conflicts, githosted failures, repairs and dependency latency apart', () => {
    const names = (r: Record<string, unknown>) => metricsFromRecord(r).map((p) => `${p.name}${p.dimensions ? JSON.stringify(p.dimensions) : ''}=${p.value}`)
    expect(names({ audit: 1, event: 'deploy.apply', outcome: 'error', code: 'GITHOSTED_STALE_HEAD' })).toEqual(['Operations=1', 'DeploysConflicted=1'])
    expect(names({ audit: 1, event: 'deploy.apply', outcome: 'allowed', code: 'OK' })).toEqual(['Operations=1', 'DeploysApplied=1'])
    expect(names({ audit: 1, event: 'token.mint', outcome: 'allowed', code: 'OK', dryRun: true })).toEqual(['Operations=1'])
    expect(names({ audit: 1, event: 'token.revoke', outcome: 'error', code: 'UPSTREAM_FAILED' })).toEqual(['Operations=1', 'GithostedErrors=1'])
    expect(names({ fn: 'events', message: 'event applied', outcome: 'committed' })).toEqual(['Operations=1', 'EventsApplied{"Outcome":"committed"}=1'])
    expect(names({ fn: 'events', message: 'event failed for this environment; Lambda will retry' })).toEqual(['Operations=1', 'EventsFailed=1'])
    expect(names({ message: 'deploy committed', repairs: 2 })).toEqual(['Repairs=2'])
    expect(names({ message: 'deploy committed', repairs: 0 })).toEqual([])
    expect(names({ dependency: 'dynamodb', latencyMs: 12, leaseWaitMs: 40 })).toEqual(['DependencyLatency{"Dependency":"dynamodb"}=12', 'LeaseWait=40'])
    expect(names({ message: 'anything else' })).toEqual([])
  })

  it('lists several latencies of one metric in one document', () => {
    const [line] = emfLines('N', { Stage: 's' }, [
      { name: 'LeaseWait', unit: 'Milliseconds', value: 5 },
      { name: 'LeaseWait', unit: 'Milliseconds', value: 9 },
    ], 1)
    expect(JSON.parse(line!)).toMatchObject({ LeaseWait: [5, 9], Stage: 's' })
  })

  it('reads the Root of an X-Ray header, and nothing from a missing one', () => {
    expect(traceRoot(TRACE)).toBe('1-5759e988-bd862e3fe1be46a994272793')
    expect(traceRoot(undefined)).toBeUndefined()
    expect(traceRoot('Parent=1')).toBeUndefined()
  })
})
