/**
 * Classifies `fetch` failures (no HTTP response at all). What matters for
 * retries is whether the request can have reached the server: a refused
 * connection or a failed DNS lookup means it never left this process, so even
 * a write may be retried; a reset mid-flight means it may have been processed.
 */
import { GithostedUnavailableError, type GithostedErrorInit } from './errors.js'

// The connection was never established: the request cannot have been processed.
const BEFORE_SEND = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

// The connection broke after the request may have been sent.
const MID_FLIGHT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
])

/** A transport failure: no response arrived. Code `GITHOSTED_UNAVAILABLE`. */
export class GithostedNetworkError extends GithostedUnavailableError {
  // Its parent's code: to a caller, no answer is one kind of unavailable.
  static override readonly code: string = 'GITHOSTED_UNAVAILABLE'
  /** The system / undici error code, e.g. ECONNRESET. */
  readonly networkCode: string
  /** False only when the connection was provably never established. */
  readonly mayHaveReachedServer: boolean
  /** Whether retrying a read is reasonable (a known transient code). */
  readonly transient: boolean

  constructor(message: string, init: GithostedErrorInit, networkCode: string) {
    super(message, init)
    this.networkCode = networkCode
    this.mayHaveReachedServer = !BEFORE_SEND.has(networkCode)
    this.transient = BEFORE_SEND.has(networkCode) || MID_FLIGHT.has(networkCode)
  }
}

/** Finds the first `code` on an error, its `cause` chain, or an AggregateError's members. */
export function findNetworkCode(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown }
  if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(e.code)) return e.code
  const fromCause = findNetworkCode(e.cause, depth + 1)
  if (fromCause) return fromCause
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = findNetworkCode(inner, depth + 1)
      if (c) return c
    }
  }
  return undefined
}
