/**
 * Per-invocation observability for a Lambda container: every log line of an
 * invocation carries `coldStart`, the X-Ray `traceId` and the Lambda
 * `awsRequestId`, and the metrics derived from those lines are written as
 * EMF when the invocation ends. Lambda runs one invocation at a time per
 * container, so one module-level "current invocation" is exact; outside a
 * wrapped handler (tests, `npm start`) nothing is added or collected.
 */
import { emfLines, type MetricPoint } from './emf.js'
import { METRICS_NAMESPACE, metricsFromRecord } from './metrics.js'

interface Invocation {
  fields: { coldStart: boolean; traceId?: string; awsRequestId?: string }
  points: MetricPoint[]
}

let coldStart = true
let current: Invocation | undefined

/**
 * Adds the invocation's fields to a log record and collects its metrics.
 * Called by the logger for every line (logger.ts).
 */
export function observeLogRecord<T extends Record<string, unknown>>(record: T): T {
  if (!current) return record
  const enriched = { ...record, ...current.fields }
  current.points.push(...metricsFromRecord(enriched))
  return enriched
}

export interface ObserveOptions {
  /** Where EMF lines go (stdout on Lambda, which CloudWatch Logs ingests). */
  sink?: (line: string) => void
  env?: NodeJS.ProcessEnv
  clock?: () => number
}

/** The Root id of an X-Ray trace header (`Root=1-...;Parent=...;Sampled=1`). */
export function traceRoot(header: string | undefined): string | undefined {
  return header ? /(?:^|;)Root=([^;]+)/.exec(header)?.[1] : undefined
}

/** Wraps a Lambda handler: opens the invocation, runs it, writes its metrics whatever the outcome. */
export function observed<E, C, R>(handler: (event: E, context: C) => Promise<R>, options: ObserveOptions = {}): (event: E, context: C) => Promise<R> {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'))
  const env = options.env ?? process.env
  const clock = options.clock ?? Date.now
  return async (event, context) => {
    const requestId = (context as { awsRequestId?: unknown } | undefined)?.awsRequestId
    // Lambda sets _X_AMZN_TRACE_ID per invocation when tracing is on.
    const traceId = traceRoot(env._X_AMZN_TRACE_ID)
    current = {
      fields: { coldStart, ...(traceId ? { traceId } : {}), ...(typeof requestId === 'string' ? { awsRequestId: requestId } : {}) },
      points: [],
    }
    coldStart = false
    const invocation = current
    try {
      return await handler(event, context)
    } finally {
      current = undefined
      if (invocation.points.length > 0) {
        for (const line of emfLines(METRICS_NAMESPACE, { Stage: env.BROKER_STAGE ?? 'unknown' }, invocation.points, clock())) sink(line)
      }
    }
  }
}
