/**
 * Reads a secret through the AWS Parameters and Secrets Lambda Extension: a
 * plain HTTP GET to the extension's local port, which calls GetSecretValue
 * with the function's own role. No AWS SDK is loaded, and the call goes over
 * node:http (lib/net/http-client.ts), the client stack the githosted transport
 * uses anyway, so the first secret read initializes no second HTTP client.
 *
 * The extension answers only during INVOKE, never during INIT; fetchers are
 * called lazily from requests, so that holds.
 */
import { ConfigError, DependencyUnavailableError } from '../errors.js'
import { nodeGet } from '../net/http-client.js'
import { secretValue } from './secret-value.js'
import type { SecretFetcher } from './source.js'

/** The extension's port when PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is unset (AWS default). */
export const EXTENSION_DEFAULT_PORT = 2773

/** Header carrying the function's session token; the extension refuses requests without it. */
export const EXTENSION_TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token'

export interface ExtensionFetcherOptions {
  /** Human label for error messages, e.g. 'workspace token'. Never the value. */
  label?: string
  /** When the SecretString is JSON, return this key's (string) value instead of the whole string. */
  jsonKey?: string
  /**
   * Where PARAMETERS_SECRETS_EXTENSION_HTTP_PORT and AWS_SESSION_TOKEN are
   * read, on every fetch (default `process.env`).
   */
  env?: Record<string, string | undefined>
  /** Injected for tests and instrumentation; by default a bounded node:http GET. */
  fetch?: typeof fetch
  /** Abandon a call after this long, as unavailable (default 5 s; Lambda's own timeout is longer). */
  timeoutMs?: number
}

/**
 * A SecretString is at most 64 KiB; JSON escaping can grow it a few times. Anything larger is not
 * an answer from the extension.
 */
const MAX_RESPONSE_BYTES = 1024 * 1024

// AWS error names that a retry may fix even when the status is 4xx (as the SDK fetcher sees them).
const TRANSIENT_NAME = /Throttl|InternalService|InternalFailure|ServiceUnavailable|Timeout/

/** An AWS error name from an error body, if it has one; a bare identifier, so it cannot carry an ARN. */
function awsErrorName(body: string): string | undefined {
  return /\b([A-Z][A-Za-z]{2,60}(?:Exception|Error|Fault|Failure))\b/.exec(body.slice(0, 2048))?.[1]
}

function failureName(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown } } | undefined
  if (e?.name === 'TimeoutError') return 'TimeoutError'
  if (typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code
  if (typeof e?.cause?.code === 'string') return e.cause.code
  return err instanceof Error ? err.name : 'UnknownError'
}

function extensionPort(env: Record<string, string | undefined>): number {
  const text = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT?.trim() || String(EXTENSION_DEFAULT_PORT)
  const port = Number(text)
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new ConfigError('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT must be a port number (1-65535).')
  }
  return port
}

/**
 * A fetcher for `createCachedSecret` that asks the extension for `secretId`.
 * Failures map like the SDK fetcher's: unreachable, timed out, 5xx or
 * throttled -> DependencyUnavailableError (503); any other refusal (unknown
 * secret, no permission, missing token header) -> ConfigError (500).
 * Messages name the label, the HTTP status and the AWS error name, never the
 * ARN, the value or the response body.
 */
export function extensionFetcher(secretId: string, options: ExtensionFetcherOptions = {}): SecretFetcher {
  const label = options.label ?? 'secret'
  const timeoutMs = options.timeoutMs ?? 5000
  return async () => {
    const env = options.env ?? process.env
    const sessionToken = env.AWS_SESSION_TOKEN
    if (!sessionToken) {
      throw new ConfigError(
        `AWS_SESSION_TOKEN is not set, so the Parameters and Secrets extension cannot be asked for the ${label}; ` +
          'SECRETS_SOURCE=extension works only inside Lambda.',
      )
    }
    const url = `http://localhost:${extensionPort(env)}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`
    const headers = { [EXTENSION_TOKEN_HEADER]: sessionToken }
    let status: number
    let body: string
    try {
      if (options.fetch) {
        const res = await options.fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) })
        status = res.status
        body = await res.text()
      } else {
        const res = await nodeGet({ url, headers, timeoutMs, maxBodyBytes: MAX_RESPONSE_BYTES })
        status = res.status
        body = res.body.toString('utf8')
      }
    } catch (err) {
      // A timeout is named TimeoutError (both paths); otherwise the system error code (ECONNREFUSED, ...),
      // on the error (node:http) or its cause (fetch). Never the message: it may hold the address.
      const why = failureName(err)
      throw new DependencyUnavailableError(
        `The Parameters and Secrets extension is unreachable; could not read the ${label} (${why}). Retry shortly.`,
      )
    }
    if (status < 200 || status > 299) {
      const name = awsErrorName(body)
      const what = `HTTP ${status}${name ? `, ${name}` : ''}`
      if (status >= 500 || status === 429 || (name && TRANSIENT_NAME.test(name))) {
        throw new DependencyUnavailableError(
          `Secrets Manager is unavailable; could not read the ${label} through the extension (${what}). Retry shortly.`,
        )
      }
      throw new ConfigError(
        `The Parameters and Secrets extension refused to return the ${label} (${what}); check the secret ARN, ` +
          "the function's IAM permissions and that the extension layer is attached.",
      )
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      throw new DependencyUnavailableError(
        `The Parameters and Secrets extension answered the ${label} request with something that is not JSON. Retry shortly.`,
      )
    }
    return secretValue((parsed as { SecretString?: unknown } | null)?.SecretString, label, options.jsonKey)
  }
}
