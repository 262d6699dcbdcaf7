/**
 * Scenario 1: cold start per function, next to a hello-world Hono bundle (the
 * floor) and the token endpoint on Express + serverless-http (what a user
 * might pick instead). Bundle size (raw, gzip; with the AWS SDK bundled and
 * left external), the esbuild metafile's top contributors, and the median
 * time for a fresh Node process to import the bundle and serve its first
 * real event, with upstream time (githosted, Secrets Manager, JWKS — all on
 * 127.0.0.1) measured at the server (Server-Timing + half a loopback round trip, as
 * the warm-overhead scenario does) and subtracted, so an HTTP client's own
 * start-up counts as the function's time whichever client it is. Functions read secrets through
 * the Parameters and Secrets extension as deployed; the token function is
 * sampled with the bundled SDK too.
 */
import { join } from 'node:path'
import { buildFunction, hasFunction, ROOT, SHIPPED_EXTERNAL, type BuiltBundle } from '../harness/bundles.js'
import { buildReadable, profileJob } from '../harness/cpu-profile.js'
import { localOidcEntry } from '../harness/local-oidc-entry.js'
import { runInFreshProcess } from '../harness/lambda-runner.js'
import type { LambdaResult } from '../harness/lambda-child.js'
import { buildProbe, type Probe } from '../harness/import-probes.js'
import { contributors, topContributors } from '../harness/metafile.js'
import { interleave } from '../harness/rounds.js'
import { reps, section, type Scenario, type Section } from '../harness/scenario.js'
import { fmtBytes, fmtMs, fmtRatio, median, ratio } from '../harness/stats.js'
import { startWorld, type World } from '../harness/world.js'
import { expressToken, floorNecessary, FUNCTION_TARGETS, helloHono, token, tokenShipped, withSecrets, type Target } from './targets.js'

export const TOKEN_BUNDLE_BUDGET_BYTES = 150 * 1024
/** Token init + first request (both auth paths) ÷ floor (b). */
export const TOKEN_FLOOR_B_RATIO = 1.3
/** Deploy, status, events init + first request ÷ floor (b). */
export const OTHER_FLOOR_B_RATIO = 1.5
/** RSS after the first request, every function, over floor (b). */
export const RSS_OVER_FLOOR_B_BYTES = 10 * 1024 ** 2
const FUNCTION_NAMES = ['token', 'deploy', 'events', 'status']

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]

interface Samples {
  target: Target
  bundle: BuiltBundle
  source?: string
  results: LambdaResult[]
  failures: string[]
}

/**
 * What is sampled: every function as shipped (the asset infra/bundling.ts
 * builds, secrets through the Parameters and Secrets extension), the token
 * function again reading secrets through the AWS SDK (the fallback for
 * deployments without the layer; the SDK resolves from node_modules as it
 * would from the runtime), the floor, and the Express peer reading secrets
 * the same way as the functions.
 */
function subjects(): Target[] {
  return [
    ...FUNCTION_TARGETS.map((t) => withSecrets(t, 'extension')),
    withSecrets(token, 'sdk', 'token [SDK secrets]'),
    withSecrets(tokenShipped, 'sdk', 'token (as shipped, broker key) [SDK secrets]'),
    helloHono,
    floorNecessary,
    withSecrets(expressToken, 'extension'),
  ]
}

const secretsVia = (t: Target) => (t.secrets === 'extension' ? 'extension' : t.secrets === 'sdk' ? 'SDK' : '—')

const initPlusFirst = (r: LambdaResult) => r.importMs + (r.first?.ms ?? Number.NaN) - (r.first?.upstreamMs ?? 0)

const externals = SHIPPED_EXTERNAL.map((m) => `\`${m}\``).join(', ')

function sizeRows(s: Section, shipped: Map<string, BuiltBundle>, bundledSdk: Map<string, BuiltBundle>) {
  const rows: string[][] = []
  for (const [name, b] of shipped) {
    const local = bundledSdk.get(name)
    rows.push([
      name,
      fmtBytes(b.bytes),
      fmtBytes(b.gzipBytes),
      `**${fmtBytes(b.totalBytes)}**`,
      fmtBytes(b.totalGzipBytes),
      local ? fmtBytes(local.totalBytes) : '—',
      local ? fmtBytes(local.totalGzipBytes) : '—',
    ])
    s.figures[`${name} entry bytes`] = b.bytes
    s.figures[`${name} total bytes`] = b.totalBytes
    if (local) s.figures[`${name} total bytes (AWS SDK bundled)`] = local.totalBytes
  }
  s.tables.push({
    caption:
      'Bundle size (ESM, minified, built by build/bundle.ts as infra/bundling.ts builds the Lambda asset: ' +
      `${externals} left to the Lambda runtime; an entry module, loaded at INIT, plus chunks imported lazily on ` +
      'first use). The last two columns bundle the AWS SDK too, for information (a deployment without the ' +
      "runtime's SDK)",
    headers: ['bundle', 'entry', 'entry gzip', 'as shipped: entry + lazy chunks', 'gzip', 'with the AWS SDK bundled', 'gzip'],
    rows,
  })
}

export const coldStart: Scenario = {
  name: 'cold-start',
  async run(ctx) {
    const s = section(
      'Cold start',
      'Each sample is a fresh `node` process (a stand-in for a new Lambda container) that imports the ' +
        'built bundle and invokes its handler once with its first real event; times come from ' +
        '`performance.now()` inside the process, so process spawn is excluded. Upstream calls (local ' +
        'githosted, the fake Parameters and Secrets extension or Secrets Manager, OIDC discovery/JWKS — all on ' +
        '127.0.0.1, no injected latency) count as upstream only from the moment a request is on the wire to ' +
        'the moment its server finished with it, as the server timed it (`Server-Timing`), plus half the ' +
        'loopback round trip (measured with a raw socket in the same process after the first request), as in ' +
        'the warm-overhead scenario: **init + first request** = module import + ' +
        "first invocation − upstream time. Everything on the client side of a call — loading and initializing " +
        'the HTTP client, connection setup, writing the request, parsing the response — counts as the ' +
        "function's, whichever client it uses. " +
        'Functions run as the stack deploys them, reading secrets through the ' +
        'Parameters and Secrets Lambda Extension (SECRETS_SOURCE=extension), built as infra/bundling.ts builds ' +
        `the asset (${externals} external: a path that needs the SDK loads it from node_modules, as it would ` +
        "load the Lambda runtime's copy); rows marked SDK read secrets through the AWS SDK instead (the " +
        'fallback for a deployment without the layer). Subjects are sampled ' +
        'interleaved, round by round; figures are medians.',
    )
    const rounds = reps(ctx, 15, 4)
    const targets = subjects()
    const runnable: Target[] = []
    for (const t of targets) {
      const why = t.missing()
      if (why) s.notes.push(`${t.name}: not measured: ${why}.`)
      else runnable.push(t)
    }

    // Sizes: the assets as shipped (the runtime's AWS SDK), the same with the SDK bundled, plus the peers.
    const shipped = new Map<string, BuiltBundle>()
    const bundledSdk = new Map<string, BuiltBundle>()
    for (const fn of FUNCTION_NAMES.filter(hasFunction)) {
      try {
        shipped.set(fn, await buildFunction(fn))
        bundledSdk.set(fn, await buildFunction(fn, { sdk: 'bundled' }))
      } catch (err) {
        s.notes.push(`${fn}: bundle size not measured: the bundle did not build (${firstLine(err)}).`)
      }
    }
    ctx.log(`building ${runnable.map((t) => t.name).join(', ')}`)
    const built = new Map<string, BuiltBundle>()
    const builds = new Map<Target['build'], Promise<BuiltBundle>>()
    for (const t of runnable) {
      try {
        // Mode variants share a bundle: build it once.
        if (!builds.has(t.build)) builds.set(t.build, t.build())
        const b = await builds.get(t.build)!
        built.set(t.name, b)
        if (t.kind === 'peer' && !shipped.has(t.name)) shipped.set(t.name, b)
      } catch (err) {
        s.notes.push(`${t.name}: not measured: the bundle did not build (${firstLine(err)}).`)
      }
    }
    sizeRows(s, shipped, bundledSdk)

    const world = await startWorld()
    const samples = new Map<string, Samples>()
    let firstProfile: FirstProfile | undefined
    try {
      const subjects = runnable.filter((t) => built.has(t.name))
      for (const t of subjects) samples.set(t.name, { target: t, bundle: built.get(t.name)!, results: [], failures: [] })
      await interleave(subjects, rounds, async (t) => {
        const entry = samples.get(t.name)!
        try {
          const { event, source } = await t.event(world)
          entry.source = source
          const r = await runInFreshProcess(
            { bundle: entry.bundle.outfile, mode: 'cold', events: [event], serverTimedOrigin: world.githosted.url },
            { env: { ...world.env, ...(t.env?.(world) ?? {}) } },
          )
          if (r.error) entry.failures.push(r.error)
          else if (!t.ok.includes(r.first?.status ?? null)) entry.failures.push(`status ${r.first?.status}`)
          else entry.results.push(r)
        } catch (err) {
          entry.failures.push(err instanceof Error ? err.message : String(err))
        }
      })
      firstProfile = await profileFirstRequests(s, world, reps(ctx, 7, 2), (m) => ctx.log(m))
    } finally {
      await world.close()
    }

    const floor = median((samples.get('hello-hono')?.results ?? []).map(initPlusFirst))
    const floorB = median((samples.get('floor-necessary')?.results ?? []).map(initPlusFirst))
    const peer = median((samples.get('express-token')?.results ?? []).map(initPlusFirst))
    const rows: string[][] = []
    for (const [name, e] of samples) {
      if (e.failures.length > 0) {
        const distinct = [...new Set(e.failures)].slice(0, 2).join('; ')
        s.notes.push(`${name}: ${e.failures.length} of ${e.failures.length + e.results.length} samples failed and were left out (${distinct}).`)
      }
      if (e.results.length === 0) {
        rows.push([name, secretsVia(e.target), `${e.source ?? ''}`, 'not measured', '', '', '', '', '', '', ''])
        continue
      }
      const m = median(e.results.map(initPlusFirst))
      const ups = e.results[0]!.first?.upstream ?? []
      rows.push([
        name,
        secretsVia(e.target),
        e.source ?? '',
        fmtMs(median(e.results.map((r) => r.importMs))),
        fmtMs(median(e.results.map((r) => r.first?.ms ?? Number.NaN))),
        `${fmtMs(median(e.results.map((r) => r.first?.upstreamMs ?? 0)))} (${ups.length} call${ups.length === 1 ? '' : 's'})`,
        `**${fmtMs(m)}**`,
        fmtRatio(ratio(m, floor)),
        `**${fmtRatio(ratio(m, floorB))}**`,
        fmtRatio(ratio(m, peer)),
        `${(median(e.results.map((r) => r.rssBytes)) / 1024 ** 2).toFixed(1)} MB`,
      ])
      s.figures[`${name} init+first ms`] = Number(m.toFixed(2))
      s.figures[`${name} ÷ floor (b)`] = Number(ratio(m, floorB).toFixed(3))
      s.figures[`${name} rss MB`] = Number((median(e.results.map((r) => r.rssBytes)) / 1024 ** 2).toFixed(1))
      s.figures[`${name} import ms`] = Number(median(e.results.map((r) => r.importMs)).toFixed(2))
    }
    s.tables.push({
      caption: `Fresh process: import + first request, median of ${rounds} rounds`,
      headers: ['bundle', 'secrets via', 'first event', 'module import', 'first request', 'of which upstream (as the servers timed it)', 'init + first − upstream', '÷ floor (a) hello-hono', '÷ floor (b) floor-necessary', '÷ express-token', 'RSS after the first request'],
      rows,
    })
    if (firstProfile?.table) s.tables.push(firstProfile.table)
    const bootMs = median([...samples.values()].flatMap((e) => e.results.map((r) => r.bootMs)))
    s.notes.push(
      `Node's own bootstrap before the first line of the child (not included above) was ${fmtMs(bootMs)} (median); ` +
        'on Lambda the runtime bootstrap is ~130 ms (lambda-perf, Node 20/22), on top of the module import.',
    )
    for (const [name, e] of samples) {
      const ups = e.results[0]?.first?.upstream ?? []
      if (ups.length > 0) {
        const calls = ups.map((u) => `${u.path} ${fmtMs(u.ms)}${u.serverMs === undefined ? ' (no Server-Timing)' : ` (server ${fmtMs(u.serverMs)})`}`)
        const client = median(e.results.map((r) => r.first?.clientUpstreamMs ?? 0))
        const rtt = median(e.results.map((r) => r.rttMs ?? Number.NaN))
        s.notes.push(
          `${name} first-request upstream calls (one sample; client-observed, server-reported in brackets): ${calls.join(', ')}. ` +
            `Median upstream as the client observed it: ${fmtMs(client)} (server-timed: ` +
            `${fmtMs(median(e.results.map((r) => r.first?.upstreamMs ?? 0)))}; loopback round trip ${fmtMs(rtt)}).`,
        )
      }
    }

    for (const [name, b] of shipped) {
      s.tables.push({
        caption: `${name}: top contributors (esbuild metafile, bytes in the minified output, entry + lazy chunks)`,
        headers: ['package / folder', 'bytes', 'share', 'files'],
        rows: topContributors(b.metafile, 8).map((c) => [c.name, fmtBytes(c.bytes), `${((c.bytes / b.totalBytes) * 100).toFixed(1)}%`, String(c.files)]),
      })
    }

    const probes = await importCosts(s, ctx.quick ? 2 : 7, (m) => ctx.log(m))
    s.notes.push(
      'Two floors, built and run exactly as the functions: **(a) hello-hono** answers every request with a constant ' +
        '(bench/peers/hello-hono.ts); **(b) floor-necessary** does what no token broker can avoid on its first request — ' +
        'verifies the same RS256 OIDC token with jose against a JWK held in memory (no discovery, no JWKS fetch) and makes ' +
        'one keep-alive node:http call to githosted (ExchangeToken, JSON answer parsed; bench/peers/floor-necessary.ts). ' +
        'Everything a function does beyond (b) — policy, secrets, discovery and JWKS fetches, DynamoDB calls (their client ' +
        'side; the server side is upstream), audit — is the broker\'s own cost.',
    )
    budgets(s, shipped, bundledSdk, samples, floor, peer, probes, firstProfile)
    floorBudgets(s, samples, floorB, peer)
    return s
  },
}

/** Components of the token bundle, each imported alone (they overlap: auth includes jose). */
const PROBES: Probe[] = [
  { name: 'hono + hono/aws-lambda', modules: ['hono', 'hono/aws-lambda'] },
  { name: 'jose', modules: ['jose'] },
  { name: 'valibot', modules: ['valibot'] },
  { name: 'lib/githosted (client, node:http transport, JSON mappers; no protobuf runtime)', modules: ['functions/lib/githosted/index.ts'] },
  { name: 'lib/auth', modules: ['functions/lib/auth/index.ts'] },
  { name: 'lib/policy', modules: ['functions/lib/policy/index.ts'] },
  { name: 'token app + deps (everything the handler imports)', modules: ['functions/token/app.ts', 'functions/token/deps.ts'] },
  {
    name: '@aws-sdk/client-secrets-manager (SDK mode only: imported on the first secret read; never with the extension)',
    modules: ['@aws-sdk/client-secrets-manager'],
  },
]

type ProbeResult = { probe: Probe; outfile: string; bytes: number; ms: number[] }

async function importCosts(s: Section, rounds: number, log: (m: string) => void): Promise<ProbeResult[]> {
  const built: ProbeResult[] = []
  for (const probe of PROBES) {
    try {
      built.push({ probe, ...(await buildProbe(probe)), ms: [] })
    } catch (err) {
      s.notes.push(`import cost of ${probe.name}: not measured (${firstLine(err)}).`)
    }
  }
  log(`import cost of ${built.length} components, ${rounds} rounds`)
  await interleave(built, rounds, async (b) => {
    const r = await runInFreshProcess({ bundle: b.outfile, mode: 'import', events: [] })
    if (!r.error) b.ms.push(r.importMs)
  })
  s.tables.push({
    caption: `What each component costs at INIT: a bundle of just that component, imported in a fresh process (median of ${rounds})`,
    headers: ['component', 'minified', 'import'],
    rows: built.map((b) => [b.probe.name, fmtBytes(b.bytes), fmtMs(median(b.ms))]),
  })
  for (const b of built) s.figures[`import ${b.probe.name} ms`] = Number(median(b.ms).toFixed(1))
  return built
}

/** Busy CPU of the first request per package, token vs the floor, averaged over fresh processes. */
interface FirstProfile {
  runs: number
  token: Map<string, number>
  floor: Map<string, number>
  /** Shown after the timing table. */
  table?: Section['tables'][number]
}

const sumOf = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)

/**
 * V8 profiles of the first request only (started after the module import)
 * in fresh processes: the token function on its shipped path (OIDC, secrets
 * via the extension) and the floor, from unminified builds of the same
 * entries so samples map to packages. Busy time includes the client side of
 * upstream calls (connection setup, parsing), which the timing table also
 * counts as the function's (upstream is server-timed).
 */
async function profileFirstRequests(s: Section, world: World, runs: number, log: (m: string) => void): Promise<FirstProfile | undefined> {
  const entry = localOidcEntry('token')
  if (entry instanceof Error) return undefined
  try {
    log(`profiling the first request, ${runs} fresh processes each`)
    const tokenBundle = await buildReadable(entry, 'token-first')
    const floorBundle = await buildReadable(join(ROOT, 'bench', 'peers', 'floor-necessary.ts'), 'floor-necessary-first')
    const env = { ...world.env, ...world.secrets.extensionEnv() }
    const out: FirstProfile = { runs: 0, token: new Map(), floor: new Map() }
    const add = (into: Map<string, number>, shares: Array<{ owner: string; ms: number }>) => {
      for (const x of shares) into.set(x.owner, (into.get(x.owner) ?? 0) + x.ms / runs)
    }
    for (let i = 0; i < runs; i++) {
      const { event } = await token.event(world)
      add(out.token, await profileJob(tokenBundle, { bundle: tokenBundle, mode: 'cold', events: [event] }, env))
      const floorEvent = await floorNecessary.event(world)
      add(out.floor, await profileJob(floorBundle, { bundle: floorBundle, mode: 'cold', events: [floorEvent.event] }, { ...env, ...floorNecessary.env!(world) }))
      out.runs++
    }
    const owners = [...new Set([...out.token.keys(), ...out.floor.keys()])]
      .map((o) => ({ o, t: out.token.get(o) ?? 0, f: out.floor.get(o) ?? 0 }))
      .sort((a, b) => b.t - a.t)
    const top = owners.slice(0, 14)
    const rest = owners.slice(14)
    const rows = top.map(({ o, t, f }) => [o, fmtMs(t), fmtMs(f), fmtMs(t - f)])
    if (rest.length > 0) {
      const t = rest.reduce((a, x) => a + x.t, 0)
      const f = rest.reduce((a, x) => a + x.f, 0)
      rows.push([`(${rest.length} others)`, fmtMs(t), fmtMs(f), fmtMs(t - f)])
    }
    rows.push(['**total busy**', `**${fmtMs(sumOf(out.token))}**`, `**${fmtMs(sumOf(out.floor))}**`, `**${fmtMs(sumOf(out.token) - sumOf(out.floor))}**`])
    out.table = {
      caption:
        `Where the first request's CPU goes: V8 profile of the first request only (after the import), token on its ` +
        `shipped path (OIDC, secrets via the extension) vs floor (b) (floor-necessary), mean of ${runs} fresh processes, busy time ` +
        '(idle excluded) by package, unminified builds; includes the client side of upstream calls',
      headers: ['package / folder', 'token', 'floor (b)', 'difference'],
      rows,
    }
    return out
  } catch (err) {
    s.notes.push(`first-request CPU profile: not measured (${firstLine(err)}).`)
    return undefined
  }
}

/** Why token init + first request is over 2× the floor, from the samples, the profiles and the import probes. */
function initWhy(
  tok: Samples,
  floor: Samples | undefined,
  sdkMode: Samples | undefined,
  probes: ProbeResult[],
  prof: FirstProfile | undefined,
): string {
  const imp = median(tok.results.map((r) => r.importMs))
  const first = median(tok.results.map((r) => (r.first?.ms ?? Number.NaN) - (r.first?.upstreamMs ?? 0)))
  const fImp = median((floor?.results ?? []).map((r) => r.importMs))
  const fFirst = median((floor?.results ?? []).map((r) => r.first?.ms ?? Number.NaN))
  const sdkM = sdkMode && sdkMode.results.length > 0 ? median(sdkMode.results.map(initPlusFirst)) : Number.NaN
  const sdk = probes.find((p) => p.probe.modules.includes('@aws-sdk/client-secrets-manager'))
  const app = probes.find((p) => p.probe.name.startsWith('token app'))
  const rest = probes
    .filter((p) => p !== sdk && p !== app)
    .sort((a, b) => median(b.ms) - median(a.ms))
    .slice(0, 3)
    .map((p) => `${p.probe.name} ${fmtMs(median(p.ms))}`)
  const parts = [
    `module import ${fmtMs(imp)} vs ${fmtMs(fImp)} for the floor, and the first request without upstream ` +
      `${fmtMs(first)} vs ${fmtMs(fFirst)} (the floor's first request is mostly Node loading its fetch/Request/` +
      'Response globals, which every Hono function pays too).',
    Number.isFinite(sdkM)
      ? `Reading secrets through the Parameters and Secrets extension instead of the bundled SDK already took ` +
        `${fmtMs(sdkM - median(tok.results.map(initPlusFirst)))} off (SDK mode: ${fmtMs(sdkM)}; importing the Secrets ` +
        `Manager client alone costs ${sdk ? fmtMs(median(sdk.ms)) : 'n/a'}).`
      : '',
    rest.length > 0 ? `What is left at INIT, heaviest components imported alone: ${rest.join(', ')}.` : '',
  ]
  if (prof) {
    const diff = [...new Set([...prof.token.keys(), ...prof.floor.keys()])]
      .map((o) => ({ o, d: (prof.token.get(o) ?? 0) - (prof.floor.get(o) ?? 0) }))
      .sort((a, b) => b.d - a.d)
    const node = diff.filter((x) => x.o.startsWith('node internals') || x.o.startsWith('native')).reduce((a, x) => a + x.d, 0)
    const oursItems = diff.filter((x) => x.o.startsWith('(ours)'))
    const ours = oursItems.reduce((a, x) => a + x.d, 0)
    const oursTop = oursItems.slice(0, 3).map((x) => `${x.o.replace('(ours) ', '')} ${fmtMs(x.d)}`).join(', ')
    const libs = diff.filter((x) => !x.o.startsWith('(') && !x.o.startsWith('node internals') && !x.o.startsWith('native')).slice(0, 3)
    parts.push(
      `By the first-request profile, the token spends ${fmtMs(sumOf(prof.token) - sumOf(prof.floor))} more CPU than floor ` +
        `(b): ${fmtMs(node)} in Node itself (the one node:http client stack of its outbound calls — OIDC discovery, ` +
        `JWKS, the extension and githosted, lib/net/http-client.ts — with socket setup; counted as the function's time, ` +
        `since upstream is server-timed), ${fmtMs(ours)} in our own code (${oursTop}), and ${libs.map((x) => `${x.o} ${fmtMs(x.d)}`).join(', ')}.`,
    )
  }
  parts.push(
    'jose already loads only on the OIDC path (a lazy chunk), the githosted transport loads node:https and ' +
      'node:zlib only when a URL or a response needs them, the policy arrives compiled (the bundle only checks its ' +
      'format marker), and the state table and githosted connections are opened at INIT (lib/lambda/warm-up.ts). ' +
      'What remains over floor (b) is mostly the calls floor (b) does not make: OIDC discovery and JWKS, the ' +
      'secrets extension, and the state table (single-use claim, two rate limits, the ownership record), each ' +
      'paying its client side on the first request (see BENCHMARKS.md "Issue 16: what each change gained").',
  )
  return parts.filter(Boolean).join(' ')
}

const isSdk = (name: string) => /^@aws-sdk\/|^@smithy\/|^@aws-crypto\/|^bowser$|^fast-xml-parser$|^strnum$|^tslib$|^uuid$/.test(name)

/** Why the shipped token asset is over budget, from its metafile (the SDK-bundled build for context). */
function sizeWhy(tok: BuiltBundle, local: BuiltBundle | undefined): string {
  const all = contributors(tok.metafile)
  const top = topContributors(tok.metafile, 5).map((c) => `${c.name} ${fmtBytes(c.bytes)}`).join(', ')
  const sdkLeft = all.filter((c) => isSdk(c.name)).reduce((a, c) => a + c.bytes, 0)
  const parts = [
    `the asset as infra/bundling.ts builds it (${externals} external) is ${fmtBytes(tok.totalBytes)}, of which the ` +
      `entry module that INIT loads is ${fmtBytes(tok.bytes)}; largest contributors: ${top}.`,
  ]
  if (sdkLeft > 0) parts.push(`SDK-related packages still bundled (not covered by the externals): ${fmtBytes(sdkLeft)}.`)
  if (local) parts.push(`(With the AWS SDK bundled as well it would be ${fmtBytes(local.totalBytes)}.)`)
  parts.push('Fix: move the largest contributors above off the Lambda path or into the runtime.')
  return parts.join(' ')
}

function budgets(
  s: Section,
  built: Map<string, BuiltBundle>,
  bundledSdk: Map<string, BuiltBundle>,
  samples: Map<string, Samples>,
  floor: number,
  peer: number,
  probes: ProbeResult[],
  firstProfile: FirstProfile | undefined,
) {
  const tok = built.get('token')
  const tokLocal = bundledSdk.get('token')
  if (!tok) {
    s.budgets.push({ budget: 'Token bundle size', limit: '≤ 150 KB minified', measured: 'not measured', pass: null, why: 'the token function is not built yet' })
  } else {
    // Judged on what ships: the asset infra/bundling.ts builds (its externals come from the Lambda
    // runtime), entry plus every lazy chunk. The SDK-bundled size is reported beside it for information.
    const pass = tok.totalBytes <= TOKEN_BUNDLE_BUDGET_BYTES
    s.budgets.push({
      budget: `Token bundle size (as shipped: entry + lazy chunks, ${externals} from the runtime)`,
      limit: '≤ 150 KB minified',
      measured:
        `${fmtBytes(tok.totalBytes)} (entry module ${fmtBytes(tok.bytes)}; ` +
        `for information, with the AWS SDK bundled: ${tokLocal ? fmtBytes(tokLocal.totalBytes) : 'n/a'})`,
      pass,
      ...(pass ? {} : { why: sizeWhy(tok, tokLocal) }),
    })
  }

  const t = samples.get('token')
  const m = t && t.results.length > 0 ? median(t.results.map(initPlusFirst)) : Number.NaN
  const r = ratio(m, floor)
  // Judged against floor (b) in floorBudgets; the ratio to floor (a) stays in the table, and its
  // explanation with it (what the token does that hello-hono does not).
  if (t && t.results.length > 0 && Number.isFinite(r)) {
    s.notes.push(`Token (OIDC) vs floor (a), ${fmtRatio(r)}: ${initWhy(t, samples.get('hello-hono'), samples.get('token [SDK secrets]'), probes, firstProfile)}`)
  }
}

/**
 * The budgets of issue 16, against floor (b): the token function on both auth paths within 1.3×
 * and below the Express peer, the other functions within 1.5×, and every function's RSS after
 * its first request within 10 MB of floor (b)'s.
 */
function floorBudgets(s: Section, samples: Map<string, Samples>, floorB: number, peer: number) {
  const fb = samples.get('floor-necessary')
  const rssOf = (e: Samples | undefined) => (e && e.results.length > 0 ? median(e.results.map((r) => r.rssBytes)) : Number.NaN)
  const floorRss = rssOf(fb)
  const judge = (name: string, limit: number, label: string) => {
    const e = samples.get(name)
    const m = e && e.results.length > 0 ? median(e.results.map(initPlusFirst)) : Number.NaN
    const r = ratio(m, floorB)
    const measured = Number.isFinite(r)
    s.budgets.push({
      budget: `${label} init + first request (without upstream) vs floor (b)`,
      limit: `≤ ${limit}× floor (b)`,
      measured: measured ? `${fmtMs(m)} vs ${fmtMs(floorB)} = ${fmtRatio(r)}` : 'not measured',
      pass: measured ? r <= limit : null,
      ...(measured ? (r <= limit ? {} : { why: floorGap(e!, fb!) }) : { why: `${name} or floor (b) could not be measured (see the cold start notes)` }),
    })
    return m
  }
  const oidc = judge('token', TOKEN_FLOOR_B_RATIO, 'Token (OIDC, as shipped: secrets via the extension)')
  const key = judge('token (as shipped, broker key)', TOKEN_FLOOR_B_RATIO, 'Token (broker key, as shipped)')
  for (const [m, label] of [
    [oidc, 'Token (OIDC)'],
    [key, 'Token (broker key)'],
  ] as const) {
    const ok = Number.isFinite(m) && Number.isFinite(peer)
    s.budgets.push({
      budget: `${label} init + first request (without upstream) vs Express + serverless-http (same token code)`,
      limit: '< Express peer',
      measured: ok ? `${fmtMs(m)} vs ${fmtMs(peer)} = ${fmtRatio(ratio(m, peer))}` : 'not measured',
      pass: ok ? m < peer : null,
      ...(ok ? {} : { why: 'the token function or the Express peer could not be measured (see the cold start notes)' }),
    })
  }
  for (const fn of ['deploy', 'status', 'events']) judge(fn, OTHER_FLOOR_B_RATIO, fn[0]!.toUpperCase() + fn.slice(1))

  const over: string[] = []
  let worst = Number.NEGATIVE_INFINITY
  let measuredAll = Number.isFinite(floorRss)
  for (const name of ['token', 'token (as shipped, broker key)', 'deploy', 'events', 'status']) {
    const rss = rssOf(samples.get(name))
    if (!Number.isFinite(rss)) {
      measuredAll = false
      continue
    }
    const d = rss - floorRss
    worst = Math.max(worst, d)
    if (d > RSS_OVER_FLOOR_B_BYTES) over.push(`${name} +${(d / 1024 ** 2).toFixed(1)} MB`)
  }
  s.budgets.push({
    budget: 'RSS after the first request, every function, vs floor (b)',
    limit: '≤ floor (b) + 10 MB',
    measured: measuredAll
      ? `largest: +${(worst / 1024 ** 2).toFixed(1)} MB over floor (b)'s ${(floorRss / 1024 ** 2).toFixed(1)} MB`
      : 'not measured',
    pass: measuredAll ? over.length === 0 : null,
    ...(measuredAll
      ? over.length === 0
        ? {}
        : { why: `over: ${over.join(', ')}; see the RSS column of the cold start table.` }
      : { why: 'a function or floor (b) could not be measured (see the cold start notes)' }),
  })
}

/** Import vs first request, each against floor (b), for a miss. */
function floorGap(e: Samples, fb: Samples): string {
  const imp = median(e.results.map((r) => r.importMs))
  const first = median(e.results.map((r) => (r.first?.ms ?? Number.NaN) - (r.first?.upstreamMs ?? 0)))
  const fImp = median(fb.results.map((r) => r.importMs))
  const fFirst = median(fb.results.map((r) => (r.first?.ms ?? Number.NaN) - (r.first?.upstreamMs ?? 0)))
  const calls = e.results[0]?.first?.upstream.length ?? 0
  return (
    `module import ${fmtMs(imp)} vs ${fmtMs(fImp)} for floor (b), first request without upstream ${fmtMs(first)} vs ` +
    `${fmtMs(fFirst)}; it makes ${calls} outbound call${calls === 1 ? '' : 's'} on its first request against floor (b)'s one, ` +
    'and the client side of each (connection setup, request writing, response parsing) is its own time.'
  )
}
