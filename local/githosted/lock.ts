/**
 * A FIFO async mutex whose waiters give up after a deadline. Each githosted
 * repo has one: writes are serialized, and a writer that cannot get the lease
 * in time is answered with RepoBusy instead of queueing forever.
 */
export class TimedMutex {
  private locked = false
  private waiters: Array<() => void> = []
  /** What the current holder is doing (RepoBusyDetail.operation). */
  holderOperation = ''

  /** Resolves with a release function, or with undefined if `timeoutMs` passed first. */
  acquire(operation: string, timeoutMs: number): Promise<(() => void) | undefined> {
    if (!this.locked) {
      this.locked = true
      this.holderOperation = operation
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        clearTimeout(timer)
        this.holderOperation = operation
        resolve(this.releaser())
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== grant)
        resolve(undefined)
      }, timeoutMs)
      this.waiters.push(grant)
    })
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next) next()
      else {
        this.locked = false
        this.holderOperation = ''
      }
    }
  }
}
