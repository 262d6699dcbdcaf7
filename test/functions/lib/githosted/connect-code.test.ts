import { describe, expect, it } from 'vitest'
import { connectCodeOf } from '../../../../functions/lib/githosted/connect-code.js'

describe('connectCodeOf', () => {
  it('reads string codes, connect-es numeric codes and wrapped causes', () => {
    expect(connectCodeOf({ connectCode: 'unimplemented' })).toBe('unimplemented')
    expect(connectCodeOf({ code: 16 })).toBe('unauthenticated')
    expect(connectCodeOf({ code: 'GITHOSTED_NOT_FOUND', connectCode: 'not_found' })).toBe('not_found')
    expect(connectCodeOf(new Error('x', { cause: { code: 'UNAVAILABLE' } }))).toBe('unavailable')
    expect(connectCodeOf(new Error('network'))).toBeUndefined()
    expect(connectCodeOf({ code: 'ECONNREFUSED' })).toBeUndefined()
  })
})
