import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../../../functions/lib/status/limiter.js'

describe('createLimiter', () => {
  it('never runs more than the bound at once and runs every task', async () => {
    const limit = createLimiter(2)
    let active = 0
    let peak = 0
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limit(async () => {
          active++
          peak = Math.max(peak, active)
          await new Promise((r) => setTimeout(r, 2))
          active--
          return i
        }),
      ),
    )
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(peak).toBe(2)
  })

  it('frees the slot when a task fails', async () => {
    const limit = createLimiter(1)
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(limit(async () => 'next')).resolves.toBe('next')
  })

  it('rejects a non-positive bound', () => {
    expect(() => createLimiter(0)).toThrow(RangeError)
  })
})
