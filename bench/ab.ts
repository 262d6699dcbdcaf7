/**
 * `npx tsx bench/ab.ts <cold|warm|connect-latency> [--rounds N] [--requests N] [--warmup N] [--latency MS] label=ref ...`
 *
 * Side-by-side A/B of the token function as built at several commits (a
 * `ref` is anything `git archive` takes; `.` is the working tree), for the
 * by-hand records of what a change gained (bench/by-hand/). Each ref is
 * built in a temporary copy with its own build/bundle.ts (node_modules
 * linked from this checkout); every sample is a fresh process run by this
 * checkout's harness (lambda-child.ts) against one world, subjects
 * interleaved round by round, medians reported.
 *
 * - cold: init + first request − upstream (as the cold-start scenario), OIDC
 *   (bench issuer) and broker key, with floor (b) beside them; plus the first
 *   request's main-thread time on a CPU.
 * - warm: overhead p50 on /v1/tokens (as the warm-overhead scenario: 30
 *   requests of warm-up, 20 ms injected at githosted; `--warmup N` and
 *   `--latency MS` change them), per run, and its median over the rounds;
 *   plus main-thread CPU time per request.
 * - connect-latency: import + first request, nothing subtracted, with every
 *   new connection to githosted and to the state table held back by a TCP
 *   proxy (30 ms and 10 ms): a stand-in for the DNS, TCP and TLS set-up of
 *   remote services, which loopback does not have.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildPeer, ROOT } from './harness/bundles.js'
import { runInFreshProcess } from './harness/lambda-runner.js'
import { many } from './harness/rounds.js'
import { median, percentile } from './harness/stats.js'
import { startWorld, type World } from './harness/world.js'
import { floorNecessary, token, tokenShipped, withSecrets, type Target } from './scenarios/targets.js'

type Mode = 'cold' | 'warm' | 'connect-latency'

function parse(argv: string[]) {
  const mode = argv[0] as Mode
  if (!['cold', 'warm', 'connect-latency'].includes(mode)) throw new Error('usage: bench/ab.ts <cold|warm|connect-latency> [--rounds N] [--requests N] [--warmup N] [--latency MS] label=ref ...')
  let rounds = mode === 'warm' ? 3 : 11
  let requests = 300
  let warmup = 30
  let latency = 20
  const refs: Array<{ label: string; ref: string }> = []
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--rounds') rounds = Number(argv[++i])
    else if (a === '--requests') requests = Number(argv[++i])
    else if (a === '--warmup') warmup = Number(argv[++i])
    else if (a === '--latency') latency = Number(argv[++i])
    else {
      const [label, ref] = a.split('=')
      if (!label || !ref) throw new Error(`not label=ref: ${a}`)
      refs.push({ label, ref })
    }
  }
  return { mode, rounds, requests, warmup, latency, refs }
}

/** Token bundles (bench issuer, as shipped) of `ref`, built by that commit's own bundler. */
function buildAt(ref: string, dir: string): { oidc: string; key: string } {
  const src = join(dir, 'src')
  if (ref === '.') {
    execFileSync('sh', ['-c', `mkdir -p '${src}' && git ls-files -z | xargs -0 cp --parents -t '${src}'`], { cwd: ROOT })
  } else {
    execFileSync('sh', ['-c', `mkdir -p '${src}' && git archive '${ref}' | tar -x -C '${src}'`], { cwd: ROOT })
  }
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'))
  const script =
    "import { buildFunction } from './bench/harness/bundles.ts';" +
    "const o = await buildFunction('token', { issuer: 'bench' }); const k = await buildFunction('token');" +
    'console.log(JSON.stringify({ oidc: o.outfile, key: k.outfile }))'
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: src, encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop()!) as { oidc: string; key: string }
}

/** Holds back each new connection to `target` by `delayMs`, then pipes it through. */
async function delayingProxy(target: string, delayMs: number): Promise<{ url: string; close(): void }> {
  const u = new URL(target)
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    sockets.add(client)
    client.pause()
    setTimeout(() => {
      const upstream = connect(Number(u.port), u.hostname, () => {
        client.pipe(upstream).pipe(client)
        client.resume()
      })
      sockets.add(upstream)
      upstream.setNoDelay(true)
      client.setNoDelay(true)
      const end = () => {
        client.destroy()
        upstream.destroy()
      }
      upstream.on('error', end).on('close', end)
      client.on('error', end).on('close', end)
    }, delayMs)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

interface Subject {
  label: string
  target: Target
  bundle: string
  values: number[]
  cpu: number[]
}

async function cold(world: World, subjects: Subject[], rounds: number, env: Record<string, string> = {}, subtractUpstream = true) {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(i + r) % subjects.length]!
      const { event } = await s.target.event(world)
      const res = await runInFreshProcess(
        { bundle: s.bundle, mode: 'cold', events: [event], ...(subtractUpstream ? { serverTimedOrigin: world.githosted.url } : {}) },
        { env: { ...world.env, ...(s.target.env?.(world) ?? {}), ...env } },
      )
      if (res.error || !res.first || !s.target.ok.includes(res.first.status)) continue
      s.values.push(res.importMs + res.first.ms - (subtractUpstream ? res.first.upstreamMs : 0))
      if (res.first.onCpuMs !== undefined) s.cpu.push(res.first.onCpuMs)
    }
  }
}

async function warm(world: World, subjects: Subject[], rounds: number, requests: number, warmup: number) {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(i + r) % subjects.length]!
      const warmupEvents = await many(warmup, async () => (await s.target.event(world)).event)
      const events = await many(requests, async () => (await s.target.event(world)).event)
      const res = await runInFreshProcess({ bundle: s.bundle, mode: 'warm', warmupEvents, events, serverTimedOrigin: world.githosted.url }, { env: world.env })
      const good = res.samples.filter((x) => s.target.ok.includes(x.status))
      if (res.error || good.length === 0) continue
      s.values.push(percentile(good.map((x) => x.ms - x.upstreamMs), 50))
      const cpu = good.flatMap((x) => (x.onCpuMs === undefined ? [] : [x.onCpuMs]))
      if (cpu.length > 0) s.cpu.push(percentile(cpu, 50))
    }
  }
}

async function main() {
  const { mode, rounds, requests, warmup, latency, refs } = parse(process.argv.slice(2))
  const tmp = mkdtempSync(join(tmpdir(), 'gcb-ab-'))
  try {
    const subjects: Subject[] = []
    for (const { label, ref } of refs) {
      const b = buildAt(ref, join(tmp, label))
      subjects.push({ label: `${label} OIDC`, target: withSecrets(token, 'extension'), bundle: b.oidc, values: [], cpu: [] })
      if (mode !== 'warm') subjects.push({ label: `${label} broker key`, target: withSecrets(tokenShipped, 'extension'), bundle: b.key, values: [], cpu: [] })
    }
    const world = await startWorld(mode === 'warm' ? { latencyMs: latency } : {})
    try {
      if (mode === 'cold') {
        subjects.unshift({ label: 'floor (b)', target: floorNecessary, bundle: (await buildPeer('floor-necessary')).outfile, values: [], cpu: [] })
        await cold(world, subjects, rounds)
      } else if (mode === 'warm') {
        await warm(world, subjects, rounds, requests, warmup)
      } else {
        const gh = await delayingProxy(world.githosted.url, 30)
        const ddb = await delayingProxy(world.env.STATE_TABLE_ENDPOINT!, 10)
        try {
          await cold(world, subjects, rounds, { GITHOSTED_URL: gh.url, STATE_TABLE_ENDPOINT: ddb.url }, false)
        } finally {
          gh.close()
          ddb.close()
        }
      }
    } finally {
      await world.close()
    }
    const what = { cold: 'init + first request − upstream', warm: 'overhead p50 (median of runs)', 'connect-latency': 'import + first request (nothing subtracted)' }[mode]
    const floor = subjects.find((s) => s.label === 'floor (b)')
    for (const s of subjects) {
      const m = median(s.values)
      const ratio = floor && s !== floor ? `, ${(m / median(floor.values)).toFixed(2)}× floor (b)` : ''
      const cpu = s.cpu.length > 0 ? `; main thread on CPU ${median(s.cpu).toFixed(2)} ms${mode === 'warm' ? ' per request' : ' (first request)'}` : ''
      console.log(`${s.label.padEnd(22)} ${what}: ${m.toFixed(2)} ms${ratio}${cpu} (n=${s.values.length})`)
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
