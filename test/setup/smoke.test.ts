import { describe, expect, it } from 'vitest'
import { findSecrets } from './secret-patterns.js'

describe('secret patterns', () => {
  it('flags tokens, broker keys and JWTs but not their prefixes alone', () => {
    const fakeGw = 'gw_' + 'A'.repeat(40)
    const fakeJwt = ['eyJhbGciOiJSUzI1NiJ9', 'eyJzdWIiOiJ4In0x', 'sig'].join('.')
    expect(findSecrets(`token=${fakeGw}`)).toHaveLength(1)
    expect(findSecrets(`auth ${fakeJwt}`)).toHaveLength(1)
    expect(findSecrets('prefix gw_*** and fingerprint 3f2a')).toHaveLength(0)
  })
})
