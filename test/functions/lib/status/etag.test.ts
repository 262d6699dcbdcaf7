import { describe, expect, it } from 'vitest'
import { etagFor, ifNoneMatchMatches } from '../../../../functions/lib/status/etag.js'

describe('status ETags', () => {
  const tag = etagFor('status.h0', 'abc123')

  it('is a weak tag naming the variant and the head', () => {
    expect(tag).toBe('W/"status.h0-abc123"')
    expect(etagFor('status.h0', null)).toBe('W/"status.h0-empty"')
    expect(etagFor('fragment.h5', 'abc123')).not.toBe(tag)
  })

  it('matches If-None-Match weakly, in lists and with *', () => {
    expect(ifNoneMatchMatches(tag, tag)).toBe(true)
    expect(ifNoneMatchMatches('"status.h0-abc123"', tag)).toBe(true)
    expect(ifNoneMatchMatches('W/"other", W/"status.h0-abc123"', tag)).toBe(true)
    expect(ifNoneMatchMatches('*', tag)).toBe(true)
    expect(ifNoneMatchMatches('W/"status.h0-def456"', tag)).toBe(false)
    expect(ifNoneMatchMatches(undefined, tag)).toBe(false)
  })
})
