/**
 * Small, dependency-free statistics for benchmark samples. Shared machines
 * are noisy, so every headline figure is a median (or a percentile) over
 * repeated runs, and comparisons are ratios of medians taken in the same run.
 */

/** Sorted copy; the input is left alone. */
function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

/** Percentile by linear interpolation between closest ranks (p in 0..100). NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const s = sorted(values)
  const rank = (p / 100) * (s.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo)
}

export const median = (values: readonly number[]): number => percentile(values, 50)

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  return values.reduce((a, b) => a + b, 0) / values.length
}

/** a / b, NaN when either side is missing or b is 0. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN
  return a / b
}

/** Milliseconds with a precision that suits the magnitude. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a'
  if (Math.abs(ms) < 1) return `${ms.toFixed(3)} ms`
  if (Math.abs(ms) < 100) return `${ms.toFixed(2)} ms`
  return `${ms.toFixed(0)} ms`
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a'
  if (bytes < 1024) return `${bytes} B`
  return `${(bytes / 1024).toFixed(1)} KB`
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'
}

/** Length of the union of [start, end] intervals, so overlapping upstream calls count once. */
export function unionLength(intervals: ReadonlyArray<readonly [number, number]>): number {
  const s = [...intervals].sort((a, b) => a[0] - b[0])
  let total = 0
  let curStart = Number.NEGATIVE_INFINITY
  let curEnd = Number.NEGATIVE_INFINITY
  for (const [start, end] of s) {
    if (start > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart
      curStart = start
      curEnd = end
    } else if (end > curEnd) {
      curEnd = end
    }
  }
  if (curEnd > curStart) total += curEnd - curStart
  return total
}
