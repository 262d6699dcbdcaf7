/**
 * Runs inside a fresh `node` process — our stand-in for one Lambda
 * container. It is bundled to dist/bench/lambda-child.mjs so that no
 * TypeScript loader sits in the measurement. It imports a Lambda bundle and
 * invokes its handler:
 *
 * - `import`: only imports it (what one dependency costs at INIT);
 * - `cold`: once, timing module import and the first request;
 * - `warm`: after a warm-up, each event in turn (one at a time, as Lambda
 *   does), timing handler time and upstream time per request and the CPU the
 *   process used; then, optionally, a batch with several requests in flight,
 *   to see what one core can serve.
 *
 * Usage: node lambda-child.mjs <job.json>; prints one line: RESULT_MARKER + JSON.
 * Times come from performance.now() inside the process, so process spawn is
 * excluded from module init and reported apart (`bootMs`).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { connect } from 'node:net'
import { createUpstreamRecorder, parseServerTiming, type UpstreamBasis, type UpstreamRecorder } from './upstream-timer.js'

export interface LambdaJob {
  bundle: string
  /** import: only import the module (cost of a dependency at INIT). */
  mode: 'cold' | 'warm' | 'import'
  /** cold: the first one is served; warm: served one after another, each measured. */
  events: unknown[]
  /** warm: served first, not measured (JIT, caches, keep-alive connections). */
  warmupEvents?: unknown[]
  /** warm: served `concurrency` at a time after the sequential phase. */
  concurrentEvents?: unknown[]
  concurrency?: number
  /** warm: idle time between sequential requests (to span a cache period). */
  paceMs?: number
  /** warm: write a V8 CPU profile of the sequential phase (only) to this file; cold: of the first request. */
  profileTo?: string
  /**
   * Count upstream time as the server reported it (Server-Timing) plus the loopback round trip
   * measured against this origin (see UpstreamBasis). Default: the client's intervals. warm: the
   * round trip is measured before the measured phase; cold: after the first request, so the raw
   * socket warms nothing the function would otherwise pay for.
   */
  serverTimedOrigin?: string
}

export interface RequestSample {
  ms: number
  upstreamMs: number
  /** Upstream time as the client observed it (same as upstreamMs unless the job is server-timed). */
  clientUpstreamMs: number
  status: number | null
  /**
   * The main thread's time on a CPU and waiting in the run queue for one during the request
   * (Linux /proc/thread-self/schedstat; absent elsewhere). The wait is the machine's contention,
   * not work of the function or of its upstream: reported beside the overhead, never subtracted.
   */
  onCpuMs?: number
  runQueueMs?: number
}

export interface LambdaResult {
  bootMs: number
  importMs: number
  /** cold: the first request; warm: the first warm-up request. */
  /** `upstream`: each outbound call, `ms` as the client observed it, `serverMs` as the server reported it. */
  first?: RequestSample & { upstream: Array<{ origin: string; path: string; ms: number; serverMs?: number }> }
  samples: RequestSample[]
  /** Process CPU (user + system) during the sequential phase, ms. */
  cpuMs?: number
  concurrent?: { requests: number; wallMs: number; cpuMs: number; statuses: Record<string, number> }
  /** Outbound calls per `origin path` over the whole run (warm-up included). */
  callCounts: Record<string, number>
  rssBytes: number
  /** serverTimedOrigin: median loopback round trip, request written → response read, minus server time. */
  rttMs?: number
  error?: string
}

export const RESULT_MARKER = '@@bench-result@@'

type Handler = (event: unknown, context: unknown) => Promise<unknown>

function lambdaContext() {
  const deadline = Date.now() + 30_000
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/bench',
    logStreamName: '2024/01/01/[$LATEST]bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}

/** API Gateway results carry statusCode; EventBridge handlers may return anything (or nothing). */
function statusOf(res: unknown): number | null {
  const code = (res as { statusCode?: unknown } | undefined)?.statusCode
  return typeof code === 'number' ? code : null
}

let basis: UpstreamBasis = { kind: 'client' }

interface Timed extends RequestSample {
  start: number
  end: number
}

/** [on CPU, waiting for a CPU] of this thread so far, ns; undefined where the kernel does not say. */
function schedstat(): [number, number] | undefined {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')
    return [Number(run), Number(wait)]
  } catch {
    return undefined
  }
}

async function invoke(handler: Handler, event: unknown, rec: UpstreamRecorder): Promise<Timed> {
  const context = lambdaContext()
  // Read outside the timed window, so the reads cost the request nothing.
  const sched0 = schedstat()
  const start = performance.now()
  let status: number | null
  try {
    status = statusOf(await handler(event, context))
  } catch {
    // A thrown error is a failed invocation (Lambda would report it); -1 keeps it visible.
    status = -1
  }
  const end = performance.now()
  const sched1 = schedstat()
  const clientUpstreamMs = rec.timeWithin(start, end)
  const upstreamMs = basis.kind === 'client' ? clientUpstreamMs : rec.timeWithin(start, end, basis)
  const timed: Timed = { ms: end - start, upstreamMs, clientUpstreamMs, status, start, end }
  if (sched0 && sched1) {
    timed.onCpuMs = (sched1[0] - sched0[0]) / 1e6
    timed.runQueueMs = (sched1[1] - sched0[1]) / 1e6
  }
  return timed
}

/** The sample as reported (the window is only needed to recount upstream time later). */
const sample = ({ start: _s, end: _e, ...rest }: Timed): RequestSample => rest

/**
 * The loopback round trip to `origin` without any HTTP client library: a raw
 * socket writes a minimal request and times the response's arrival, minus the
 * time the server said it spent. Median of `n`, on one kept-alive connection.
 */
async function loopbackRtt(origin: string, n = 41): Promise<number> {
  const url = new URL(origin)
  const socket = connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const request = `GET /__bench_rtt HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 0\r\n\r\n`
  const samples: number[] = []
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      socket.write(request)
      const head = await new Promise<string>((resolve, reject) => {
        let text = ''
        const onData = (chunk: Buffer) => {
          text += chunk.toString('latin1')
          const endOfHead = text.indexOf('\r\n\r\n')
          if (endOfHead < 0) return
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0)
          if (text.length - endOfHead - 4 < length) return
          socket.off('data', onData)
          resolve(text)
        }
        socket.on('data', onData)
        socket.once('close', () => reject(new Error(`${origin} closed the connection`)))
      })
      const t1 = performance.now()
      const server = parseServerTiming(/\r\nserver-timing:\s*([^\r]*)/i.exec(head)?.[1])
      if (server !== undefined) samples.push(t1 - t0 - server)
    }
  } finally {
    socket.destroy()
  }
  if (samples.length === 0) throw new Error(`${origin} sent no Server-Timing header`)
  samples.sort((a, b) => a - b)
  return samples[samples.length >> 1]!
}

const cpuNow = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function startProfile(): Promise<Session> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  return session
}

async function stopProfile(session: Session, file: string) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  session.disconnect()
}

async function main() {
  const bootMs = performance.now()
  const rec = createUpstreamRecorder()
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LambdaJob
  const url = pathToFileURL(job.bundle).href

  const t0 = performance.now()
  const mod = (await import(url)) as { handler: Handler }
  const importMs = performance.now() - t0
  if (job.mode === 'import') {
    const only: LambdaResult = { bootMs, importMs, samples: [], callCounts: {}, rssBytes: process.memoryUsage().rss }
    process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(only)}\n`)
    process.exit(0)
  }

  const firstEvent = job.mode === 'cold' ? job.events[0] : (job.warmupEvents?.[0] ?? job.events[0])
  const callsBefore = rec.calls.length
  const firstProfile = job.mode === 'cold' && job.profileTo ? await startProfile() : undefined
  const first = await invoke(mod.handler, firstEvent, rec)
  if (firstProfile) await stopProfile(firstProfile, job.profileTo!)
  let rttMs: number | undefined
  if (job.mode === 'cold' && job.serverTimedOrigin) {
    // Measured only now: a raw socket opened before the first request could warm what it pays for.
    rttMs = await loopbackRtt(job.serverTimedOrigin)
    first.upstreamMs = rec.timeWithin(first.start, first.end, { kind: 'server', rttMs })
  }
  const result: LambdaResult = {
    bootMs,
    importMs,
    ...(rttMs === undefined ? {} : { rttMs }),
    first: {
      ...sample(first),
      upstream: rec.calls.slice(callsBefore).map((c) => ({
        origin: c.origin,
        path: c.path.split('?')[0]!,
        ms: (Number.isNaN(c.end) ? performance.now() : c.end) - c.start,
        ...(c.serverMs === undefined ? {} : { serverMs: c.serverMs }),
      })),
    },
    samples: [],
    callCounts: {},
    rssBytes: 0,
  }

  if (job.mode === 'warm') {
    if (job.serverTimedOrigin) {
      result.rttMs = await loopbackRtt(job.serverTimedOrigin)
      basis = { kind: 'server', rttMs: result.rttMs }
    }
    const warmup = job.warmupEvents ?? []
    for (const e of warmup.slice(1)) await invoke(mod.handler, e, rec)
    // Without warm-up events the first event was the first request; never serve an event twice.
    const measured = warmup.length > 0 ? job.events : job.events.slice(1)
    const session = job.profileTo ? await startProfile() : undefined
    const cpu0 = cpuNow()
    for (const e of measured) {
      result.samples.push(sample(await invoke(mod.handler, e, rec)))
      if (job.paceMs) await new Promise((r) => setTimeout(r, job.paceMs))
    }
    result.cpuMs = cpuNow() - cpu0
    if (session) await stopProfile(session, job.profileTo!)

    const batch = job.concurrentEvents ?? []
    if (batch.length > 0) {
      const statuses: Record<string, number> = {}
      let next = 0
      const worker = async () => {
        while (next < batch.length) {
          const s = await invoke(mod.handler, batch[next++], rec)
          statuses[String(s.status)] = (statuses[String(s.status)] ?? 0) + 1
        }
      }
      const c0 = cpuNow()
      const w0 = performance.now()
      await Promise.all(Array.from({ length: job.concurrency ?? 16 }, worker))
      result.concurrent = {
        requests: batch.length,
        wallMs: performance.now() - w0,
        cpuMs: cpuNow() - c0,
        statuses,
      }
    }
  }

  for (const c of rec.calls) {
    const key = `${c.origin} ${c.path.split('?')[0]}`
    result.callCounts[key] = (result.callCounts[key] ?? 0) + 1
  }
  result.rssBytes = process.memoryUsage().rss
  process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(result)}\n`)
  // Keep-alive sockets and SDK timers must not hold the process open.
  process.exit(0)
}

main().catch((err) => {
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify({ error })}\n`)
  process.exit(1)
})
