/**
 * Bounded retries with full-jitter exponential backoff, and the rules for
 * WHAT may be retried.
 *
 * Retried: RepoBusy (the server says nothing happened) and transient transport
 * failures. Never: StaleHead, permission, validation, not_found, timeouts
 * (a timed-out call may still complete; the caller decides) or anything else.
 *
 * Writes are special: repeating a WriteFile that already landed makes a second
 * commit. So a plain write is retried only when we KNOW it did not happen:
 * RepoBusy, or a connection that was never established (refused, DNS).
 * ECONNREFUSED is retried for every call: it is the one failure where the
 * request provably never left us, and within the time bound a restarting
 * server or a deploy blip costs at most a few hundred milliseconds.
 * A write carrying `expectedHead` (a "guarded write") may also be retried after
 * a reset or an `unavailable` answer: if the first attempt landed, an enforcing
 * server refuses the repeat with StaleHead (whose actualHead is our own commit)
 * and a non-enforcing one is caught by the after-the-fact parent check; either
 * way nothing is silently duplicated.
 */
import { currentDeadline } from '../deadline.js'
import type { RetryOptions } from './types.js'
import { GithostedUnavailableError, RepoBusyError } from './errors.js'
import { GithostedNetworkError } from './network-error.js'

/** How repeating a call behaves. */
export type CallSafety = 'idempotent' | 'write' | 'guarded-write'

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>
  /** In [0, 1). */
  random: () => number
  now: () => number
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxRetries: 4,
  baseDelayMs: 100,
  maxTotalMs: 5_000,
}

/** Whether `err` may be retried for a call of this safety class. */
export function isRetryable(err: unknown, safety: CallSafety): boolean {
  if (err instanceof RepoBusyError) return true
  if (err instanceof GithostedNetworkError) {
    if (!err.mayHaveReachedServer) return true
    return err.transient && safety !== 'write'
  }
  // An `unavailable` answer from the server or a proxy: a read is safe to repeat.
  if (err instanceof GithostedUnavailableError) return safety !== 'write'
  return false
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, has been
 * retried `maxRetries` times, or the next backoff would end past `maxTotalMs`
 * since the first attempt. The last error is rethrown unchanged. Inside a
 * request budget (lib/deadline.ts) the pauses are the request's shared
 * backoff, and a pause the budget cannot afford ends the retries.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  safety: CallSafety,
  options: RetryOptions | undefined,
  deps: RetryDeps,
): Promise<T> {
  const { maxRetries, baseDelayMs, maxTotalMs } = { ...DEFAULT_RETRY, ...options }
  const start = deps.now()
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (attempt >= maxRetries || !isRetryable(err, safety)) throw err
      const deadline = currentDeadline()
      if (deadline) {
        if (!(await deadline.tryPause())) throw err
        continue
      }
      const delay = Math.floor(deps.random() * baseDelayMs * 2 ** attempt)
      if (deps.now() - start + delay > maxTotalMs) throw err
      await deps.sleep(delay)
    }
  }
}
