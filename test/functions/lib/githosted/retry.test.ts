import { describe, expect, it } from 'vitest'
import {
  GithostedUnavailableError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RepoBusyError,
  StaleHeadError,
  GithostedTimeoutError,
} from '../../../../functions/lib/githosted/errors.js'
import { GithostedNetworkError } from '../../../../functions/lib/githosted/network-error.js'
import { isRetryable, withRetry, type CallSafety } from '../../../../functions/lib/githosted/retry.js'
import { virtualTime } from './fake-connect.js'

const init = { connectCode: 'aborted' as const, procedure: '/p' }
const busy = () => new RepoBusyError('busy', init, { repoId: 'rp_1', operation: 'write_file' })
const stale = () =>
  new StaleHeadError('stale', { ...init, connectCode: 'failed_precondition' }, {
    repoId: 'rp_1',
    ref: 'main',
    expectedHead: 'a',
    actualHead: 'b',
  })
const net = (code: string) =>
  new GithostedNetworkError('net', { ...init, connectCode: 'unavailable' }, code)
const unavailable = () => new GithostedUnavailableError('u', { ...init, connectCode: 'unavailable' })

describe('isRetryable', () => {
  const table: Array<[string, () => unknown, Record<CallSafety, boolean>]> = [
    ['RepoBusy', busy, { idempotent: true, write: true, 'guarded-write': true }],
    ['StaleHead', stale, { idempotent: false, write: false, 'guarded-write': false }],
    ['NotFound', () => new NotFoundError('n', { ...init, connectCode: 'not_found' }), { idempotent: false, write: false, 'guarded-write': false }],
    ['PermissionDenied', () => new PermissionDeniedError('p', { ...init, connectCode: 'permission_denied' }), { idempotent: false, write: false, 'guarded-write': false }],
    ['invalid_argument', () => new InvalidArgumentError('i', { ...init, connectCode: 'invalid_argument' }), { idempotent: false, write: false, 'guarded-write': false }],
    ['timeout', () => new GithostedTimeoutError('t', { ...init, connectCode: 'deadline_exceeded' }), { idempotent: false, write: false, 'guarded-write': false }],
    ['unavailable answer', unavailable, { idempotent: true, write: false, 'guarded-write': true }],
    ['ECONNREFUSED', () => net('ECONNREFUSED'), { idempotent: true, write: true, 'guarded-write': true }],
    ['ENOTFOUND', () => net('ENOTFOUND'), { idempotent: true, write: true, 'guarded-write': true }],
    ['ECONNRESET', () => net('ECONNRESET'), { idempotent: true, write: false, 'guarded-write': true }],
    ['UND_ERR_SOCKET', () => net('UND_ERR_SOCKET'), { idempotent: true, write: false, 'guarded-write': true }],
    ['unknown network failure', () => net('UNKNOWN'), { idempotent: false, write: false, 'guarded-write': false }],
    ['a plain Error', () => new Error('x'), { idempotent: false, write: false, 'guarded-write': false }],
  ]
  for (const [name, make, expected] of table) {
    it(`${name}: ${JSON.stringify(expected)}`, () => {
      for (const safety of ['idempotent', 'write', 'guarded-write'] as const) {
        expect(isRetryable(make(), safety), safety).toBe(expected[safety])
      }
    })
  }
})

describe('withRetry', () => {
  it('retries RepoBusy up to maxRetries, then rethrows the last error', async () => {
    const t = virtualTime(1)
    let calls = 0
    const run = withRetry(
      async () => {
        calls++
        throw busy()
      },
      'write',
      { maxRetries: 3, baseDelayMs: 10, maxTotalMs: 1e9 },
      t.deps,
    )
    await expect(run).rejects.toBeInstanceOf(RepoBusyError)
    expect(calls).toBe(4)
    // Full jitter with random()=1 gives the cap: base * 2^attempt.
    expect(t.sleeps).toEqual([10, 20, 40])
  })

  it('stops when the next backoff would pass maxTotalMs', async () => {
    const t = virtualTime(1)
    let calls = 0
    const run = withRetry(
      async () => {
        calls++
        throw busy()
      },
      'write',
      { maxRetries: 100, baseDelayMs: 100, maxTotalMs: 1000 },
      t.deps,
    )
    await expect(run).rejects.toBeInstanceOf(RepoBusyError)
    // 100 + 200 + 400 = 700 slept; the next (800) would end at 1500 > 1000.
    expect(t.sleeps).toEqual([100, 200, 400])
    expect(calls).toBe(4)
  })

  it('counts time spent inside attempts against the budget', async () => {
    const t = virtualTime(0.5)
    let calls = 0
    const run = withRetry(
      async () => {
        calls++
        t.advance(600)
        throw busy()
      },
      'write',
      { maxRetries: 10, baseDelayMs: 100, maxTotalMs: 1000 },
      t.deps,
    )
    await expect(run).rejects.toBeInstanceOf(RepoBusyError)
    expect(calls).toBe(2)
  })

  it('jitters: the delay is random() * base * 2^attempt', async () => {
    const t = virtualTime(0.25)
    let n = 0
    const v = await withRetry(
      async () => {
        if (n++ < 2) throw busy()
        return 'done'
      },
      'idempotent',
      { baseDelayMs: 100 },
      t.deps,
    )
    expect(v).toBe('done')
    expect(t.sleeps).toEqual([25, 50])
  })

  it('never retries StaleHead', async () => {
    const t = virtualTime()
    let calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw stale()
        },
        'guarded-write',
        undefined,
        t.deps,
      ),
    ).rejects.toBeInstanceOf(StaleHeadError)
    expect(calls).toBe(1)
    expect(t.sleeps).toEqual([])
  })

  it('uses the documented defaults (4 retries)', async () => {
    const t = virtualTime(0)
    let calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw busy()
        },
        'write',
        undefined,
        t.deps,
      ),
    ).rejects.toBeInstanceOf(RepoBusyError)
    expect(calls).toBe(5)
  })
})
