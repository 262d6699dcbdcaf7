import { describe, expect, it } from 'vitest'
import { cachedClientFactory } from '../../../../functions/lib/lambda/githosted-clients.js'

describe('cachedClientFactory', () => {
  it('reuses the client per token and drops the oldest beyond max', () => {
    const factory = cachedClientFactory('http://127.0.0.1:9', 2)
    const a = factory('token-a')
    expect(factory('token-a')).toBe(a)
    const b = factory('token-b')
    expect(b).not.toBe(a)
    factory('token-c')
    expect(factory('token-b')).toBe(b)
    expect(factory('token-a')).not.toBe(a)
  })

  it('with max 1 keeps only the latest token (rotation gets a new client)', () => {
    const factory = cachedClientFactory('http://127.0.0.1:9', 1)
    const first = factory('old')
    expect(factory('old')).toBe(first)
    const rotated = factory('new')
    expect(rotated).not.toBe(first)
    expect(factory('new')).toBe(rotated)
    expect(factory('old')).not.toBe(first)
  })
})
