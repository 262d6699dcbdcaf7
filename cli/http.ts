/**
 * HTTP for the CLI and the GitHub Action: one place that turns Node's
 * "fetch failed" into what actually went wrong (DNS, refused, TLS, timeout),
 * always naming the URL, and a problem+json body into its detail and code.
 */
import { HttpError, NetworkError, UsageError, type NetworkFailure } from './errors.js'

export type Fetch = typeof fetch

/**
 * The broker's base URL from a flag or variable. A bare host is the common
 * mistake (`--broker broker.example.com`), so it gets its own message.
 */
export function parseBaseUrl(option: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${option} is required (e.g. https://broker.example.com).`)
  const v = value.trim()
  if (!/^https?:\/\//i.test(v) || !URL.canParse(v)) {
    throw new UsageError(`${option} "${v}" must start with https:// (e.g. https://${v.replace(/^[a-z][a-z0-9+.-]*:\/*/i, '') || 'broker.example.com'}).`)
  }
  return v.replace(/\/+$/, '')
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA'])
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

/** Every `code` on the error, its causes, and an AggregateError's members (happy-eyeballs connects). */
function codesOf(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 4) return []
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown }
  const own = typeof e.code === 'string' ? [e.code] : []
  if (e.name === 'TimeoutError' || e.name === 'AbortError') own.push('ETIMEDOUT')
  const nested = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])].flatMap((c) => codesOf(c, depth + 1))
  return [...own, ...nested]
}

function classify(codes: string[]): NetworkFailure {
  if (codes.some((c) => DNS_CODES.has(c))) return 'dns'
  if (codes.includes('ECONNREFUSED')) return 'refused'
  // OpenSSL and certificate codes: ERR_SSL_*, ERR_TLS_*, CERT_*, *_CERT*, UNABLE_TO_VERIFY_*, EPROTO.
  if (codes.some((c) => /^ERR_(SSL|TLS)_|CERT|UNABLE_TO_VERIFY|^EPROTO$/.test(c))) return 'tls'
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return 'timeout'
  if (codes.some((c) => RESET_CODES.has(c))) return 'reset'
  return 'network'
}

/** The innermost cause's message: undici's own is only "fetch failed". */
function rootMessage(err: unknown): string {
  let e = err
  while (e instanceof Error && e.cause instanceof Error) e = e.cause
  return e instanceof Error ? e.message : String(e)
}

/** A fetch rejection as a NetworkError whose message names the URL and the cause. */
export function describeNetworkFailure(url: string, err: unknown): NetworkError {
  const codes = codesOf(err)
  const failure = classify(codes)
  const u = new URL(url)
  const code = codes.find((c) => c !== 'ETIMEDOUT') ?? codes[0]
  const suffix = code ? ` [${code}]` : ''
  const messages: Record<NetworkFailure, string> = {
    dns: `cannot resolve host ${u.hostname} (DNS lookup failed) for ${url}${suffix}`,
    refused: `connection refused by ${u.host} for ${url}: nothing is listening there${suffix}`,
    tls: `TLS handshake with ${u.host} failed for ${url}${suffix}: ${u.protocol === 'https:' ? 'check the certificate, or whether the server speaks plain http' : 'the server expects https'}`,
    timeout: `no answer from ${u.host} in time for ${url}${suffix}`,
    reset: `connection to ${u.host} was closed before an answer for ${url}${suffix}`,
    network: `request to ${url} failed${suffix}: ${rootMessage(err)}`,
  }
  return new NetworkError(failure, url, messages[failure])
}

/** An error status as an HttpError: the problem's detail and code when the body is problem+json. */
export function httpErrorFrom(url: string, status: number, text: string, method = 'POST'): HttpError {
  try {
    const p = JSON.parse(text) as { detail?: unknown; code?: unknown }
    if (typeof p.detail === 'string') {
      const code = typeof p.code === 'string' ? p.code : undefined
      return new HttpError(status, url, `${method} ${url}: HTTP ${status}${code ? ` ${code}` : ''}: ${p.detail}`, code)
    }
  } catch {
    // not JSON: fall through
  }
  return new HttpError(status, url, `${method} ${url}: HTTP ${status}: ${text.trim().slice(0, 300) || '(empty body)'}`)
}

export interface CallOptions {
  method?: string
  bearer?: string
  body?: unknown
  fetch?: Fetch
  sleep?: (ms: number) => Promise<void>
  /** Attempts in all (default 4): 5xx, 429 and transient network failures are retried. */
  attempts?: number
}

export interface CallResult {
  status: number
  text: string
  headers: Headers
}

/**
 * One request with retries on 5xx, 429 and transient network failures (the
 * caller sends an idempotency key where a replay matters). Any other status
 * is returned, not thrown: callers decide what success is.
 */
export async function call(url: string, options: CallOptions = {}): Promise<CallResult> {
  const f = options.fetch ?? fetch
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const attempts = options.attempts ?? 4
  let last: Error | undefined
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(500 * 2 ** attempt * (0.5 + Math.random()))
    let res: Response
    try {
      res = await f(url, {
        method: options.method ?? 'GET',
        headers: {
          'user-agent': 'githosted-ci/0.1',
          ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      })
    } catch (err) {
      const failure = describeNetworkFailure(url, err)
      if (!failure.retryable) throw failure
      last = failure
      continue
    }
    const text = await res.text()
    if ((res.status >= 500 || res.status === 429) && attempt < attempts - 1) {
      last = httpErrorFrom(url, res.status, text, options.method ?? 'GET')
      continue
    }
    return { status: res.status, text, headers: res.headers }
  }
  throw last ?? new Error(`request to ${url} failed`)
}

/** `call`, then the JSON body of a response with one of `ok` statuses, else an HttpError. */
export async function callJson<T>(url: string, ok: number[], options: CallOptions = {}): Promise<T> {
  const res = await call(url, options)
  if (!ok.includes(res.status)) throw httpErrorFrom(url, res.status, res.text, options.method ?? 'GET')
  return (res.text === '' ? {} : JSON.parse(res.text)) as T
}
