/**
 * A small DynamoDB client: the JSON protocol (`X-Amz-Target:
 * DynamoDB_20120810.<Op>`), SigV4 by a signer made for this one request
 * shape (sigv4.ts), sent over the function's one node:http keep-alive stack
 * (lib/net/http-client.ts). Chosen over `@aws-sdk/client-dynamodb` by
 * measurement (BENCHMARKS.md, "DynamoDB client"): the state table sits on the
 * first request of every function, and the SDK's module graph and first-call
 * set-up cost more than the whole of this module plus its signer. The signer
 * is synchronous on node:crypto with the derived key cached per day; aws4fetch
 * (the first signer) went through WebCrypto, whose per-call job dispatch made
 * SigV4 about 7 ms of CPU per token mint, and aws4 (the second) signed as
 * fast warm but cost 8 KB of every bundle and about 3 ms more on a cold
 * start (bench/micro.ts; BENCHMARKS.md, "What each change gained").
 *
 * Only the single-item operations the state stores use are exposed. Errors
 * are sorted into two kinds the stores act on: a failed condition (an answer,
 * not a failure: the item is not as required) and everything else, which
 * means the table could not be asked (throttled, 5xx, network, deadline):
 * callers fail closed with a StateUnavailableError (503).
 */
import { RetryLaterError } from '../errors.js'
import { createPools, exchange, type Pools } from '../net/http-client.js'
import { warmPool } from '../net/warm.js'
import { createSigV4Signer } from './sigv4.js'

/** DynamoDB's typed attribute values, as far as the stores use them. */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
export type Item = Record<string, AttributeValue>

/** The item operations the stores use, and the table set-up that local tools use. */
export type Operation = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'CreateTable' | 'DescribeTable' | 'UpdateTimeToLive'

/** The table could not answer: throttled, unavailable, unreachable, or too slow. Fail closed. */
export class StateUnavailableError extends RetryLaterError {
  static override readonly code: string = 'STATE_UNAVAILABLE'
  constructor(message: string, options?: ErrorOptions) {
    super(message, 1, options)
  }
}

/** The item did not meet the request's ConditionExpression. `item` is the current item when asked for. */
export class ConditionFailed extends Error {
  override name = 'ConditionFailed'
  constructor(readonly item?: Item) {
    super('conditional request failed')
  }
}

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface DynamoDbOptions {
  region: string
  /** Default `https://dynamodb.<region>.amazonaws.com`; locally, dynalite's URL. */
  endpoint?: string
  /** Read on every call (Lambda rotates them per container by environment, so env is the source). */
  credentials: () => AwsCredentials
  /** Per call, connection and answer included. Default 2 s: well inside every caller's deadline. */
  timeoutMs?: number
  /** One more try after a throttle or 5xx, after this pause. Default 25 ms. */
  retryDelayMs?: number
  /** Counts calls (benchmarks and tests report round trips). */
  onCall?: (op: Operation) => void
}

export interface DynamoDb {
  call<T = Record<string, unknown>>(op: Operation, input: Record<string, unknown>): Promise<T>
  /**
   * Opens the keep-alive connection ahead of the first call (an unsigned GET of `/`, which
   * DynamoDB answers with a health line); calls made meanwhile wait for it instead of opening
   * a second one. Never rejects; once per client.
   */
  warm(timeoutMs: number): Promise<void>
  readonly endpoint: string
  close(): void
}

const TARGET_PREFIX = 'DynamoDB_20120810.'
const MAX_RESPONSE_BYTES = 1024 * 1024
const CONDITION_FAILED = new Set(['ConditionalCheckFailedException'])
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
])

/** Credentials from the standard variables Lambda sets for the execution role. */
export function credentialsFromEnv(env: Record<string, string | undefined>): () => AwsCredentials {
  return () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
    if (!accessKeyId || !secretAccessKey) {
      throw new StateUnavailableError('No AWS credentials in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) for the state table.')
    }
    return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
  }
}

export function createDynamoDb(options: DynamoDbOptions): DynamoDb {
  const endpoint = options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com`
  // Parsed once: every call goes to `/` of this origin.
  const target = new URL('/', endpoint)
  const signer = createSigV4Signer({ region: options.region, service: 'dynamodb' })
  const timeoutMs = options.timeoutMs ?? 2_000
  const retryDelayMs = options.retryDelayMs ?? 25
  let pools: Pools | undefined
  const poolsOf = () => (pools ??= createPools({ maxSockets: 16, maxFreeSockets: 4, idleTimeoutMs: 4_000 }))
  let warming: Promise<void> | undefined
  let warmed = false

  async function once(op: Operation, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
    if (warming) await warming
    const creds = options.credentials()
    const payload = Buffer.from(body)
    const headers = signer.sign(
      { host: target.host, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': TARGET_PREFIX + op }, body: payload },
      creds,
    )
    options.onCall?.(op)
    const res = await exchange(
      { url: target, method: 'POST', headers, body: payload, timeoutMs, maxBodyBytes: MAX_RESPONSE_BYTES },
      poolsOf(),
    )
    let json: Record<string, unknown> = {}
    try {
      json = res.body.length > 0 ? (JSON.parse(res.body.toString('utf8')) as Record<string, unknown>) : {}
    } catch {
      // Not JSON (a proxy's error page): treated by status below.
    }
    return { status: res.status, json }
  }

  return {
    endpoint,
    warm(warmUpTimeoutMs) {
      if (warmed) return warming ?? Promise.resolve()
      warmed = true
      warming = warmPool(poolsOf(), target, warmUpTimeoutMs).finally(() => {
        warming = undefined
      })
      return warming
    },
    async call<T>(op: Operation, input: Record<string, unknown>): Promise<T> {
      const body = JSON.stringify(input)
      for (let attempt = 1; ; attempt++) {
        let status: number
        let json: Record<string, unknown>
        try {
          ;({ status, json } = await once(op, body))
        } catch (err) {
          if (err instanceof StateUnavailableError) throw err
          // Network failure or deadline: the outcome of a write is unknown,
          // so it is not resent; every store's writes are conditional and
          // the caller fails closed.
          throw new StateUnavailableError(`The state table did not answer (${op}: ${(err as { code?: string }).code ?? (err as Error).name}); try again.`, { cause: err })
        }
        if (status === 200) return json as T
        const type = String(json.__type ?? '').split('#').pop() ?? ''
        if (CONDITION_FAILED.has(type)) {
          throw new ConditionFailed(json.Item as Item | undefined)
        }
        const retryable = status >= 500 || RETRYABLE.has(type)
        if (retryable && attempt < 2) {
          await new Promise((r) => setTimeout(r, retryDelayMs * (0.5 + Math.random())))
          continue
        }
        const what = type || `HTTP ${status}`
        if (retryable) throw new StateUnavailableError(`The state table is throttled or unavailable (${op}: ${what}); try again shortly.`)
        // A 4xx that is not a condition: our request or the table is wrong
        // (missing table, no permission). Still fail closed, and say what.
        throw new StateUnavailableError(`The state table refused ${op} (${what}: ${String(json.message ?? json.Message ?? '').slice(0, 200)}).`)
      }
    },
    close() {
      if (pools) {
        pools['http:'].destroy()
        pools['https:']?.destroy()
      }
    },
  }
}

/** Reads a number attribute (absent → undefined). */
export function num(item: Item | undefined, name: string): number | undefined {
  const v = item?.[name]
  return v && 'N' in v ? Number(v.N) : undefined
}

/** Reads a string attribute (absent → undefined). */
export function str(item: Item | undefined, name: string): string | undefined {
  const v = item?.[name]
  return v && 'S' in v ? v.S : undefined
}

export const N = (n: number): AttributeValue => ({ N: String(n) })
export const S = (s: string): AttributeValue => ({ S: s })
