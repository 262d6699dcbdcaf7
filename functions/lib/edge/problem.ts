/**
 * RFC 9457 problem details for the JSON API. Every error response of the
 * JSON endpoints goes through here, so the shape and the stable `code` are
 * the same everywhere and nothing internal (stack, upstream body) leaks.
 */
import type { Context } from 'hono'
import { AppError } from '../errors.js'

export interface Problem {
  type: string
  title: string
  status: number
  code: string
  detail: string
  [extension: string]: unknown
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** Turns any thrown value into a problem; unknown errors become an opaque 500. */
export function toProblem(err: unknown, requestId?: string): Problem {
  const base = requestId ? { requestId } : {}
  if (err instanceof AppError) {
    return {
      type: `https://githosted-ci-broker.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[err.status] ?? 'Error',
      status: err.status,
      code: err.code,
      detail: err.message,
      ...err.details(),
      ...base,
    }
  }
  return {
    type: 'about:blank',
    title: TITLES[500]!,
    status: 500,
    code: 'INTERNAL',
    detail: 'Internal error; the request id identifies it in the logs.',
    ...base,
  }
}

/** Sends a problem+json response (adds Retry-After for rate limits). */
export function problemResponse(c: Context, err: unknown, requestId?: string): Response {
  const problem = toProblem(err, requestId)
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' }
  if (typeof problem.retryAfterSeconds === 'number') {
    headers['retry-after'] = String(Math.max(1, Math.ceil(problem.retryAfterSeconds)))
  }
  return c.body(JSON.stringify(problem), problem.status as 400, headers)
}
