import { describe, expect, it } from 'vitest'
import { AppError } from '../../../../functions/lib/errors.js'
import {
  codeFromHttpStatus,
  errorFromResponse,
} from '../../../../functions/lib/githosted/connect-error.js'
import {
  GithostedError,
  GithostedTimeoutError,
  GithostedUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  RepoBusyError,
  StaleHeadError,
  UnauthenticatedError,
} from '../../../../functions/lib/githosted/errors.js'
import { repoBusyDetail, staleHeadDetail } from './fake-connect.js'

const ctx = { procedure: '/githosted.v1.RepoService/WriteFile', requestId: 'req_1', token: undefined }
const detail = {
  repoId: 'rp_abc',
  ref: 'main',
  expectedHead: 'a'.repeat(40),
  actualHead: 'b'.repeat(40),
}

function body(code: string, message: string, details?: unknown[]): string {
  return JSON.stringify({ code, message, ...(details ? { details } : {}) })
}

describe('errorFromResponse: StaleHead', () => {
  for (const style of ['std', 'std_raw', 'url'] as const) {
    it(`decodes the binary value (${style} base64)`, () => {
      // Pick values whose encoding contains + or / so the alphabets really differ.
      const d = { ...detail, repoId: 'rp_\u00ff\u00fe\u00fd>>>???' }
      const err = errorFromResponse(400, body('failed_precondition', 'stale', [staleHeadDetail(d, { style })]), ctx)
      expect(err).toBeInstanceOf(StaleHeadError)
      const s = err as StaleHeadError
      expect([s.repoId, s.ref, s.expectedHead, s.actualHead]).toEqual([d.repoId, d.ref, d.expectedHead, d.actualHead])
      expect(s.code).toBe('GITHOSTED_STALE_HEAD')
      expect(s.status).toBe(409)
      expect(s.connectCode).toBe('failed_precondition')
    })
  }

  it('prefers value over debug when both are present', () => {
    const d = staleHeadDetail(detail, { debug: { ...detail, actualHead: 'c'.repeat(40) } })
    const err = errorFromResponse(400, body('failed_precondition', 'stale', [d]), ctx) as StaleHeadError
    expect(err.actualHead).toBe(detail.actualHead)
  })

  it('falls back to debug when value is missing or garbage (camelCase and snake_case)', () => {
    const noValue = staleHeadDetail(detail, { value: null, debug: detail })
    expect((errorFromResponse(412, body('failed_precondition', 's', [noValue]), ctx) as StaleHeadError).actualHead).toBe(
      detail.actualHead,
    )
    const snake = {
      repo_id: 'rp_abc',
      ref: 'main',
      expected_head: detail.expectedHead,
      actual_head: detail.actualHead,
      extra: 1,
    }
    const garbage = staleHeadDetail(detail, { value: '////', debug: snake })
    const err = errorFromResponse(400, body('failed_precondition', 's', [garbage]), ctx)
    expect(err).toBeInstanceOf(StaleHeadError)
    expect((err as StaleHeadError).expectedHead).toBe(detail.expectedHead)
  })

  it('decodes a value from a newer server with fields we do not know', () => {
    // Our 4 fields, then field 5 (a string) and field 6 (a varint) we have never heard of.
    const known = Buffer.from(staleHeadDetail(detail).value as string, 'base64')
    const extra = Buffer.from([0x2a, 0x03, 0x6e, 0x65, 0x77, 0x30, 0x96, 0x01])
    const value = Buffer.concat([known, extra]).toString('base64')
    const err = errorFromResponse(400, body('failed_precondition', 's', [staleHeadDetail(detail, { value })]), ctx)
    expect(err).toBeInstanceOf(StaleHeadError)
    expect((err as StaleHeadError).actualHead).toBe(detail.actualHead)
  })

  it('a truncated value falls back to debug; without debug it is a plain error', () => {
    const full = Buffer.from(staleHeadDetail(detail).value as string, 'base64')
    const value = full.subarray(0, full.length - 3).toString('base64')
    const withDebug = staleHeadDetail(detail, { value, debug: { ...detail, actualHead: 'd'.repeat(40) } })
    const err = errorFromResponse(400, body('failed_precondition', 's', [withDebug]), ctx)
    expect((err as StaleHeadError).actualHead).toBe('d'.repeat(40))
    const bare = errorFromResponse(400, body('failed_precondition', 's', [staleHeadDetail(detail, { value })]), ctx)
    expect(bare).not.toBeInstanceOf(StaleHeadError)
    expect(bare.code).toBe('GITHOSTED_FAILED_PRECONDITION')
  })

  it('accepts the type.googleapis.com/ prefixed type name', () => {
    const d = { ...staleHeadDetail(detail), type: 'type.googleapis.com/githosted.v1.StaleHeadDetail' }
    expect(errorFromResponse(400, body('failed_precondition', 's', [d]), ctx)).toBeInstanceOf(StaleHeadError)
  })

  it('failed_precondition without the detail stays a plain GithostedError', () => {
    const err = errorFromResponse(400, body('failed_precondition', 'nope'), ctx)
    expect(err).not.toBeInstanceOf(StaleHeadError)
    expect(err).toBeInstanceOf(GithostedError)
    expect(err.code).toBe('GITHOSTED_FAILED_PRECONDITION')
    expect(err.status).toBe(502)
  })
})

describe('errorFromResponse: other codes', () => {
  it('aborted + RepoBusyDetail is a RepoBusyError', () => {
    const d = repoBusyDetail({ repoId: 'rp_abc', operation: 'git_receive_pack' })
    const err = errorFromResponse(409, body('aborted', 'busy', [d]), ctx)
    expect(err).toBeInstanceOf(RepoBusyError)
    expect((err as RepoBusyError).operation).toBe('git_receive_pack')
    expect((err as RepoBusyError).repoId).toBe('rp_abc')
    expect(err.code).toBe('GITHOSTED_REPO_BUSY')
    expect(err.status).toBe(503)
  })

  it('aborted without a detail is not RepoBusy', () => {
    const err = errorFromResponse(409, body('aborted', 'x'), ctx)
    expect(err).not.toBeInstanceOf(RepoBusyError)
    expect(err.code).toBe('GITHOSTED_ABORTED')
  })

  it.each([
    ['not_found', 404, NotFoundError, 'GITHOSTED_NOT_FOUND', 404],
    ['unauthenticated', 401, UnauthenticatedError, 'GITHOSTED_UNAUTHENTICATED', 502],
    ['permission_denied', 403, PermissionDeniedError, 'GITHOSTED_PERMISSION_DENIED', 502],
    ['unavailable', 503, GithostedUnavailableError, 'GITHOSTED_UNAVAILABLE', 503],
    ['deadline_exceeded', 504, GithostedTimeoutError, 'GITHOSTED_TIMEOUT', 504],
    ['already_exists', 409, GithostedError, 'GITHOSTED_ALREADY_EXISTS', 502],
    ['invalid_argument', 400, GithostedError, 'GITHOSTED_INVALID_ARGUMENT', 502],
  ] as const)('%s -> %s', (code, http, cls, stable, status) => {
    const err = errorFromResponse(http, body(code, 'm'), ctx)
    expect(err).toBeInstanceOf(cls)
    expect(err).toBeInstanceOf(AppError)
    expect(err.code).toBe(stable)
    expect(err.status).toBe(status)
    expect(err.connectCode).toBe(code)
    expect(err.procedure).toBe(ctx.procedure)
    expect(err.requestId).toBe('req_1')
    expect(err.message).toContain(ctx.procedure)
  })

  it('takes the code from the body, not the HTTP status', () => {
    expect(errorFromResponse(500, body('not_found', 'gone'), ctx)).toBeInstanceOf(NotFoundError)
  })

  it.each([
    [502, '<html>Bad gateway</html>', 'unavailable'],
    [503, '', 'unavailable'],
    [429, 'slow down', 'unavailable'],
    [404, 'Not Found', 'unimplemented'],
    [401, '', 'unauthenticated'],
    [403, 'forbidden', 'permission_denied'],
    [400, '{"not":"connect"}', 'internal'],
    [500, 'oops', 'unknown'],
    [418, '{"code":"made_up"}', 'unknown'],
  ])('non-Connect body with HTTP %i -> %s', (http, text, code) => {
    const err = errorFromResponse(http, text, ctx)
    expect(err.connectCode).toBe(code)
    expect(err.httpStatus).toBe(http)
    expect(err.message).toContain(`HTTP ${http}`)
  })

  it('codeFromHttpStatus follows the Connect table', () => {
    expect(codeFromHttpStatus(404)).toBe('unimplemented')
    expect(codeFromHttpStatus(504)).toBe('unavailable')
    expect(codeFromHttpStatus(200)).toBe('unknown')
  })

  it('scrubs the token and anything token-shaped from the upstream message', () => {
    const token = 'gw_' + 'Z'.repeat(40)
    const short = 'tok-short-secret'
    const text = body('unauthenticated', `bad token ${token} and ${short} and gr_${'q'.repeat(30)}`)
    const err = errorFromResponse(401, text, { ...ctx, token: short })
    expect(err.message).not.toContain(token)
    expect(err.message).not.toContain(short)
    expect(err.message).not.toMatch(/gr_q{8,}/)
    expect(err.message).toContain('unauthenticated')
  })
})
