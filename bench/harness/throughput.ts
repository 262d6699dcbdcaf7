/**
 * Operations per second of an async function, measured in a few timed
 * windows (median of windows, after a warm-up) so one noisy moment on a
 * shared machine does not decide the figure.
 */
import { performance } from 'node:perf_hooks'
import { median } from './stats.js'

export interface ThroughputOptions {
  /** Length of each timed window. */
  windowMs: number
  windows: number
  warmupMs?: number
}

export async function opsPerSecond(fn: () => Promise<unknown>, o: ThroughputOptions): Promise<number> {
  const runWindow = async (ms: number) => {
    let n = 0
    const start = performance.now()
    let now = start
    while (now - start < ms) {
      await fn()
      n++
      now = performance.now()
    }
    return (n * 1000) / (now - start)
  }
  await runWindow(o.warmupMs ?? Math.min(300, o.windowMs))
  const rates: number[] = []
  for (let i = 0; i < o.windows; i++) rates.push(await runWindow(o.windowMs))
  return median(rates)
}
