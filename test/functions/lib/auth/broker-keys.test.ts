import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  BROKER_KEY_RE,
  generateBrokerKey,
  hashBrokerKey,
  matchBrokerKey,
  parseStoredKeys,
} from '../../../../functions/lib/auth/broker-keys.js'
import { ConfigError } from '../../../../functions/lib/errors.js'

describe('broker keys', () => {
  it('are gbk_ + 43 base64url chars and unique', () => {
    const keys = new Set(Array.from({ length: 50 }, generateBrokerKey))
    expect(keys.size).toBe(50)
    for (const key of keys) expect(key).toMatch(BROKER_KEY_RE)
  })

  it('are stored as lowercase SHA-256 hex', () => {
    expect(hashBrokerKey('gbk_x')).toMatch(/^[0-9a-f]{64}$/)
    expect(hashBrokerKey('gbk_x')).toBe(createHash('sha256').update('gbk_x').digest('hex'))
  })

  it('match compares against every stored digest, whichever matches', () => {
    const keys = Array.from({ length: 5 }, generateBrokerKey)
    const stored = keys.map((k, i) => ({ name: `k${i}`, sha256: hashBrokerKey(k) }))
    for (const [i, key] of keys.entries()) {
      let comparisons = 0
      const counting = (a: Buffer, b: Buffer) => {
        comparisons += 1
        return a.equals(b)
      }
      expect(matchBrokerKey(key, stored, counting)?.name).toBe(`k${i}`)
      expect(comparisons).toBe(stored.length)
    }
    let comparisons = 0
    expect(matchBrokerKey(generateBrokerKey(), stored, (a, b) => (comparisons++, a.equals(b)))).toBeUndefined()
    expect(comparisons).toBe(stored.length)
  })

  it('rejects malformed keys without comparing', () => {
    const key = generateBrokerKey()
    const stored = [{ name: 'a', sha256: hashBrokerKey(key) }]
    let comparisons = 0
    for (const bad of ['', 'gbk_', key.slice(0, -1), `${key}A`, key.replace('gbk_', 'gbx_'), `${key.slice(0, -1)}+`]) {
      expect(matchBrokerKey(bad, stored, () => (comparisons++, true))).toBeUndefined()
    }
    expect(comparisons).toBe(0)
  })

  it('parses the secret and rejects malformed entries and duplicates', () => {
    const sha = hashBrokerKey(generateBrokerKey())
    expect(parseStoredKeys(JSON.stringify({ keys: [{ name: 'ci-legacy', sha256: sha }] }))).toEqual([
      { name: 'ci-legacy', sha256: sha },
    ])
    const bad: Array<[unknown, RegExp]> = [
      ['{', /not valid JSON/],
      [{ keys: [{ name: 'x', sha256: 'abc' }] }, /keys\.0\.sha256: sha256 must be 64/],
      [{ keys: [{ name: 'X Y', sha256: sha }] }, /keys\.0\.name/],
      [{ keys: [{ name: 'a', sha256: sha, key: 'gbk_' }] }, /keys\.0\.key/],
      [{ keys: [{ name: 'a', sha256: sha }, { name: 'a', sha256: hashBrokerKey('y') }] }, /duplicate name a/],
      [{ keys: [{ name: 'a', sha256: sha }, { name: 'b', sha256: sha }] }, /repeats another key's digest/],
    ]
    for (const [input, message] of bad) {
      expect(() => parseStoredKeys(input)).toThrow(ConfigError)
      expect(() => parseStoredKeys(input)).toThrow(message)
    }
  })
})
