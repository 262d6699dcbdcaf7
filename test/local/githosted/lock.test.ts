import { describe, expect, it } from 'vitest'
import { TimedMutex } from '../../../local/githosted/lock.js'

describe('TimedMutex', () => {
  it('grants in FIFO order and reports the holder operation', async () => {
    const m = new TimedMutex()
    const order: string[] = []
    const first = await m.acquire('write_file', 1000)
    expect(m.holderOperation).toBe('write_file')
    const second = m.acquire('delete_file', 1000).then((r) => {
      order.push('second')
      return r
    })
    const third = m.acquire('write_file', 1000).then((r) => {
      order.push('third')
      return r
    })
    first!()
    const r2 = await second
    expect(m.holderOperation).toBe('delete_file')
    r2!()
    ;(await third)!()
    expect(order).toEqual(['second', 'third'])
    // Free again: immediate grant.
    expect(await m.acquire('x', 0)).toBeTypeOf('function')
  })

  it('gives up after the wait and does not grant later', async () => {
    const m = new TimedMutex()
    const held = await m.acquire('write_file', 10)
    expect(await m.acquire('write_file', 5)).toBeUndefined()
    held!()
    const again = await m.acquire('write_file', 5)
    expect(again).toBeTypeOf('function')
    again!()
    again!() // double release is harmless
    expect(await m.acquire('write_file', 5)).toBeTypeOf('function')
  })
})
