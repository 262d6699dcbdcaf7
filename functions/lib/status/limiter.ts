/**
 * A counting semaphore for upstream calls. Status reads fan out to several
 * calls per environment; one shared bound keeps a repo with many environment
 * files from opening dozens of requests to githosted at once.
 */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>

/** Runs at most `concurrency` tasks at a time, in the order they were submitted. */
export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  }
  let active = 0
  const waiting: Array<() => void> = []

  const release = () => {
    active--
    const next = waiting.shift()
    if (next) next()
  }

  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      release()
    }
  }
}
