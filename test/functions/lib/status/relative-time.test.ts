import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { formatRelativeTime, RELATIVE_TIME_SCRIPT } from '../../../../functions/lib/status/relative-time.js'

const now = new Date('2024-05-01T12:00:00Z')
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000)

describe('formatRelativeTime', () => {
  it('uses the largest whole unit, singular and plural', () => {
    expect(formatRelativeTime(ago(10), now)).toBe('just now')
    expect(formatRelativeTime(ago(60), now)).toBe('1 minute ago')
    expect(formatRelativeTime(ago(59 * 60), now)).toBe('59 minutes ago')
    expect(formatRelativeTime(ago(2 * 3600 + 5), now)).toBe('2 hours ago')
    expect(formatRelativeTime(ago(86400), now)).toBe('1 day ago')
    expect(formatRelativeTime(ago(15 * 86400), now)).toBe('2 weeks ago')
    expect(formatRelativeTime(ago(400 * 86400), now)).toBe('1 year ago')
  })

  it('reads future times (clock skew) as just now', () => {
    expect(formatRelativeTime(new Date(now.getTime() + 120_000), now)).toBe('just now')
  })

  it('has a browser twin that gives the same answers', () => {
    const rel = runInNewContext(`${RELATIVE_TIME_SCRIPT}; rel`) as (then: number, now: number) => string
    for (const s of [0, 44, 45, 61, 3599, 3600, 86399, 86400 * 8, 86400 * 31, 86400 * 366, -50]) {
      expect(rel(ago(s).getTime(), now.getTime())).toBe(formatRelativeTime(ago(s), now))
    }
  })
})
