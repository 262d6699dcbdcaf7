import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../../functions/lib/errors.js'
import { checkSeconds, formatDuration, parseRequestDuration as parseDuration } from '../../../functions/lib/duration.js'

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['1h30m', 5400],
    ['2h0m5s', 7205],
    [' 24H ', 86400],
  ])('parses %j as %i seconds', (text, seconds) => {
    expect(parseDuration(text, 'ttl', { maxSeconds: 86400 })).toBe(seconds)
  })

  it.each([
    ['0', 'is not a duration'],
    ['0s', 'at least 1s'],
    ['-1h', 'is not a duration'],
    ['abc', 'is not a duration'],
    ['60', 'is not a duration'],
    ['', 'is not a duration'],
    ['1m1h', 'is not a duration'],
    ['99999h', 'at most 24h'],
    ['25h', 'at most 24h'],
  ])('rejects %j with a message naming the field', (text, fragment) => {
    const err = (() => {
      try {
        parseDuration(text, 'ttl', { maxSeconds: 86400 })
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ValidationError).field).toBe('ttl')
    expect((err as Error).message).toContain(fragment)
    expect((err as Error).message).toContain('ttl')
  })

  it('rejects non-strings', () => {
    expect(() => parseDuration(3600, 'ttl')).toThrow(/ttl must be a duration/)
  })

  it('checkSeconds bounds numbers', () => {
    expect(checkSeconds(60, 'ttlSeconds', { maxSeconds: 100 })).toBe(60)
    expect(() => checkSeconds(1.5, 'ttlSeconds')).toThrow(/whole number/)
    expect(() => checkSeconds(0, 'ttlSeconds')).toThrow(/at least 1s/)
    expect(() => checkSeconds(101, 'ttlSeconds', { maxSeconds: 100 })).toThrow(/at most 1m40s/)
    expect(() => checkSeconds('60', 'ttlSeconds')).toThrow(/whole number/)
  })

  it('formatDuration round-trips', () => {
    expect(formatDuration(5400)).toBe('1h30m')
    expect(formatDuration(90)).toBe('1m30s')
    expect(formatDuration(0)).toBe('0s')
  })
})

describe('one grammar for requests and configuration', () => {
  it('takes bare seconds only in configuration', async () => {
    const { parseDuration: configured, durationSeconds } = await import('../../../functions/lib/duration.js')
    expect(configured('60')).toBe(60)
    expect(configured(60)).toBe(60)
    expect(configured('1H30m')).toBe(5400)
    expect(configured('1m1h')).toBeUndefined()
    expect(durationSeconds('60')).toBeUndefined()
    expect(() => parseDuration('60', 'ttl')).toThrow(ValidationError)
    expect(parseDuration('1m', 'ttl')).toBe(configured('60'))
  })
})
