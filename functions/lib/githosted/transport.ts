/**
 * The seam between one Connect unary call and the wire: a Transport sends one
 * POST and resolves with the status and the whole body as text. Two exist:
 * node-transport.ts (node:http with a keep-alive agent, the default) and the
 * `fetch` one below (used when a caller injects `fetch`: tests,
 * instrumentation).
 *
 * Failure contract, which unary-call.ts maps to typed errors:
 * - no answer within `timeoutMs` → an error named 'TimeoutError';
 * - `signal` aborted → an error named 'AbortError';
 * - body over `maxBodyBytes` → ResponseTooLargeError (lib/net/capped-body.ts);
 * - anything else (refused, reset, DNS) → the system error, its `code`
 *   somewhere on it or its `cause` chain (network-error.ts reads it).
 */
import { ResponseTooLargeError, readCappedBody } from '../net/capped-body.js'

/** One request. */
export interface TransportRequest {
  url: string
  headers: Record<string, string>
  body: string
  /** Deadline for the whole exchange, connection and body included. */
  timeoutMs: number
  /** Cancels the exchange from outside. */
  signal?: AbortSignal
  /** Larger response bodies are refused (ResponseTooLargeError). */
  maxBodyBytes: number
  /**
   * Whether sending this request twice is harmless. False (writes): the
   * transport never resends it by itself, not even on a stale pooled socket.
   */
  idempotent?: boolean
}

/** One answer (any status). */
export interface TransportResponse {
  status: number
  text: string
}

/** Sends one POST; rejects per the module comment. */
export type Transport = (req: TransportRequest) => Promise<TransportResponse>

/** Default response body cap: far above any githosted message we read, far below memory trouble. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024

/** An error named like the DOMException that `AbortSignal.timeout` produces. */
export function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no response within ${ms} ms`), { name: 'TimeoutError' })
}

/** An error named like the DOMException that `AbortController.abort()` produces. */
export function abortError(reason?: unknown): Error {
  return Object.assign(new Error('the request was aborted', { cause: reason }), { name: 'AbortError' })
}

/** A Transport over a `fetch` implementation (any WHATWG-compatible one). */
export function fetchTransport(f: typeof fetch): Transport {
  return async (req) => {
    const timeout = AbortSignal.timeout(req.timeoutMs)
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout
    try {
      const res = await f(req.url, { method: 'POST', headers: req.headers, body: req.body, signal })
      // TextDecoder, as Response.text() decodes: UTF-8, a leading BOM dropped.
      return { status: res.status, text: new TextDecoder().decode(await readCappedBody(res, req.maxBodyBytes)) }
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw err
      // Which signal fired decides the meaning, whatever the implementation rejected with.
      if (timeout.aborted) throw timeoutError(req.timeoutMs)
      if (req.signal?.aborted) throw abortError(req.signal.reason)
      throw err
    }
  }
}
