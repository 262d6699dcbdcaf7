/**
 * CloudWatch Embedded Metric Format, written by hand: one JSON line that
 * CloudWatch Logs turns into metrics, no agent, no API call. Hand-written
 * rather than @aws-lambda-powertools/metrics because the broker emits a few
 * counters per invocation and the library costs bundle size and cold-start
 * time for nothing the broker uses (numbers: BENCHMARKS.md, "EMF metrics").
 * Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export type MetricUnit = 'Count' | 'Milliseconds'

export interface MetricPoint {
  name: string
  unit: MetricUnit
  value: number
  /** Extra dimension values beyond the stage (e.g. Reason for TokensDenied). */
  dimensions?: Record<string, string>
}

/**
 * One EMF document per dimension set (CloudWatch requires every metric in a
 * document to share its dimensions); values of the same metric are summed
 * for counts and listed for latencies.
 */
export function emfLines(namespace: string, base: Record<string, string>, points: MetricPoint[], timestamp: number): string[] {
  const groups = new Map<string, { dims: Record<string, string>; metrics: Map<string, { unit: MetricUnit; values: number[] }> }>()
  for (const p of points) {
    const dims = { ...base, ...p.dimensions }
    const key = JSON.stringify(Object.entries(dims).sort())
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { dims, metrics: new Map() }))
    const m = g.metrics.get(p.name) ?? { unit: p.unit, values: [] }
    m.values.push(p.value)
    g.metrics.set(p.name, m)
  }
  return [...groups.values()].map(({ dims, metrics }) => {
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: namespace,
            // The stage-only set as well, so dashboards and alarms can use the total.
            Dimensions: Object.keys(dims).length > Object.keys(base).length ? [Object.keys(base), Object.keys(dims)] : [Object.keys(base)],
            Metrics: [...metrics].map(([name, m]) => ({ Name: name, Unit: m.unit })),
          },
        ],
      },
      ...dims,
    }
    for (const [name, m] of metrics) {
      doc[name] = m.unit === 'Count' ? m.values.reduce((a, b) => a + b, 0) : m.values.length === 1 ? m.values[0] : m.values
    }
    return JSON.stringify(doc)
  })
}
