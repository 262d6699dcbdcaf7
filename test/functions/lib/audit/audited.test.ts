import { describe, expect, it } from 'vitest'
import { audited } from '../../../../functions/lib/audit/audited.js'
import { createAuditor } from '../../../../functions/lib/audit/audit.js'
import { ForbiddenError, RetryLaterError, ValidationError } from '../../../../functions/lib/errors.js'
import { createLogger } from '../../../../functions/lib/observability/logger.js'

function sinks() {
  const lines: Array<Record<string, any>> = []
  const logger = createLogger({ level: 'info', sink: (l) => lines.push(JSON.parse(l)) })
  return { sinks: { auditor: createAuditor(logger), logger }, lines, audits: () => lines.filter((l) => l.audit === 1) }
}

const call = { requestId: 'req-1', sourceIp: '203.0.113.9' }

describe('audited', () => {
  it('writes one allowed line with the scope and the summary', async () => {
    const s = sinks()
    const out = await audited(s.sinks, call, 'thing.do', async (a) => {
      a.repos = ['deploy-configs']
      a.extra = { environment: 'staging' }
      return 42
    }, (n) => ({ reason: `did ${n}`, extra: { answer: n } }))
    expect(out).toBe(42)
    expect(s.audits()).toEqual([
      expect.objectContaining({ event: 'thing.do', requestId: 'req-1', sourceIp: '203.0.113.9', outcome: 'allowed', code: 'OK', reason: 'did 42', repos: ['deploy-configs'], environment: 'staging', answer: 42 }),
    ])
  })

  it.each([
    ['a bad request', new ValidationError('no'), 'denied', 'VALIDATION_FAILED'],
    ['a policy refusal', new ForbiddenError('no'), 'denied', 'FORBIDDEN'],
    ['our dependency failing', new RetryLaterError('later', 2), 'error', 'DEPENDENCY_UNAVAILABLE'],
  ])('records %s as %s and rethrows it', async (_what, err, outcome, code) => {
    const s = sinks()
    await expect(audited(s.sinks, call, 'thing.do', async () => { throw err }, () => ({ reason: 'unreachable' }))).rejects.toBe(err)
    expect(s.audits()).toEqual([expect.objectContaining({ outcome, code, reason: err.message })])
    expect(s.lines.some((l) => l.message === 'unhandled error')).toBe(false)
  })

  it('records an unknown failure as an opaque error, logs it for operators, and keeps the trace off the caller', async () => {
    const s = sinks()
    const bug = new TypeError('cannot read x of undefined')
    await expect(
      audited(s.sinks, call, 'thing.do', async (a) => {
        a.decision = { allowed: true, identified: true, rule: 'r1', reason: 'ok', trace: [{ rule: 'r1', matched: true }] }
        throw bug
      }, () => ({ reason: 'unreachable' })),
    ).rejects.toBe(bug)
    expect(s.audits()).toEqual([expect.objectContaining({ outcome: 'error', code: 'INTERNAL', reason: 'internal error', rule: 'r1', trace: [{ rule: 'r1', matched: true }] })])
    expect(s.lines.find((l) => l.message === 'unhandled error')).toMatchObject({ requestId: 'req-1', event: 'thing.do' })
  })
})
