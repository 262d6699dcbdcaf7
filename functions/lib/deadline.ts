/**
 * One time budget per request, shared by every retry loop under it (the
 * deploy core's stale-head/RepoBusy loop, the githosted client's retries,
 * each call's timeout), so retries never multiply past what API Gateway
 * (30 s) and the function allow. The budget travels in AsyncLocalStorage:
 * code that has none (scripts, tests, the events function) behaves as before.
 *
 * Backoff is exponential in the number of pauses the REQUEST has taken so far
 * (not per layer), with full jitter and a cap; a pause that would leave less
 * than `reserveMs` for the next call is refused, and the request ends with a
 * 503 and a Retry-After instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { RetryLaterError } from './errors.js'

/** Ends well before API Gateway's 30 s integration timeout, leaving room for the answer. */
export const DEFAULT_REQUEST_BUDGET_MS = 20_000

export interface DeadlineOptions {
  now?: () => number
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  /** First backoff cap; doubles per pause. Default 100 ms. */
  baseDelayMs?: number
  /** Largest single pause. Default 2 s. */
  maxDelayMs?: number
  /** Time a pause must leave for the call after it. Default 1 s. */
  reserveMs?: number
}

/** The request ran out of its budget while the upstream stayed busy or kept conflicting. */
export class RequestDeadlineError extends RetryLaterError {
  static override readonly code: string = 'REQUEST_DEADLINE'
  constructor(
    message: string,
    retryAfterSeconds: number,
    readonly pauses: number,
  ) {
    super(message, retryAfterSeconds)
  }

  override details() {
    return { ...super.details(), retries: this.pauses }
  }
}

export class Deadline {
  readonly endsAt: number
  /** Pauses taken so far by every layer of this request. */
  pauses = 0
  readonly #now: () => number
  readonly #random: () => number
  readonly #sleep: (ms: number) => Promise<void>
  readonly #base: number
  readonly #max: number
  readonly #reserve: number

  constructor(
    readonly budgetMs: number,
    options: DeadlineOptions = {},
  ) {
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
    this.#base = options.baseDelayMs ?? 100
    this.#max = options.maxDelayMs ?? 2_000
    this.#reserve = options.reserveMs ?? 1_000
    this.endsAt = this.#now() + budgetMs
  }

  remainingMs(): number {
    return this.endsAt - this.#now()
  }

  /** Waits the next backoff and returns true, or returns false at once when the budget cannot afford it. */
  async tryPause(): Promise<boolean> {
    const cap = Math.min(this.#max, this.#base * 2 ** Math.min(this.pauses, 20))
    const delay = Math.floor(this.#random() * cap)
    if (delay + this.#reserve > this.remainingMs()) return false
    this.pauses++
    await this.#sleep(delay)
    return true
  }

  /** Like tryPause, but ends the request (503 + Retry-After) when the budget is spent. */
  async pause(why: string): Promise<void> {
    if (await this.tryPause()) return
    throw this.exceeded(why)
  }

  exceeded(why: string): RequestDeadlineError {
    const retryAfter = Math.max(1, Math.ceil(this.#max / 1000))
    return new RequestDeadlineError(
      `Gave up after ${Math.round(this.budgetMs / 100) / 10} s and ${this.pauses} retries: ${why}. Retry in ${retryAfter} s.`,
      retryAfter,
      this.pauses,
    )
  }
}

const current = new AsyncLocalStorage<Deadline>()

/** Runs `fn` with `deadline` as the budget of everything it awaits. */
export function withDeadline<T>(deadline: Deadline, fn: () => Promise<T>): Promise<T> {
  return current.run(deadline, fn)
}

/** The budget of the request being served, if any. */
export function currentDeadline(): Deadline | undefined {
  return current.getStore()
}
