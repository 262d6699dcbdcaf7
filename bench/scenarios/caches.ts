/**
 * Scenario 3: the per-container caches. One child process serves 1,000 warm
 * /v1/tokens requests; we count Secrets Manager GetSecretValue calls (at the
 * fake Secrets Manager, per secret) and OIDC discovery/JWKS fetches (at the
 * issuer), and cross-check with the outbound calls the child itself saw.
 * Then a second container with a 1 s secret cache period serves paced
 * requests across several periods: one fetch per period is expected.
 */
import { runInFreshProcess } from '../harness/lambda-runner.js'
import { reps, section, type Scenario } from '../harness/scenario.js'
import { startWorld } from '../harness/world.js'
import { token, tokenRequestWithKey } from './targets.js'

const REQUESTS = 1000
const KEY_REQUESTS = 8

export const caches: Scenario = {
  name: 'caches',
  async run(ctx) {
    const s = section(
      'Caches: Secrets Manager and JWKS',
      `A fresh container (child process) serves ${REQUESTS.toLocaleString('en-US')} successive /v1/tokens ` +
        `requests through the built handler, each with a fresh OIDC token from one issuer, then ${KEY_REQUESTS} ` +
        'with a broker key (so the broker-keys secret is read as well). Calls are counted ' +
        'where they land — the fake Secrets Manager (per secret) and the OIDC issuer (discovery, JWKS) — and ' +
        'cross-checked with the outbound calls the container itself made.',
    )
    const why = token.missing()
    if (why) {
      s.notes.push(`not measured: ${why}.`)
      s.budgets.push({ budget: 'One secret fetch per cache period, one JWKS fetch per issuer per container', limit: 'exactly 1 each', measured: 'not measured', pass: null, why })
      return s
    }
    const bundle = await token.build()
    const world = await startWorld()
    try {
      const events: unknown[] = []
      for (let i = 0; i < REQUESTS; i++) events.push((await token.event(world)).event)
      // A few broker-key requests too (within the key's rate-limit burst), so the broker-keys secret is read.
      for (let i = 0; i < KEY_REQUESTS; i++) events.push(tokenRequestWithKey(world).event)
      world.secrets.reset()
      world.issuer.reset()
      ctx.log(`serving ${REQUESTS} requests`)
      const r = await runInFreshProcess({ bundle: bundle.outfile, mode: 'warm', events }, { env: world.env })
      if (r.error) throw new Error(`child failed: ${r.error}`)
      const served = r.samples.filter((x) => token.ok.includes(x.status)).length + (token.ok.includes(r.first?.status ?? null) ? 1 : 0)
      const seen = (pathPart: string) =>
        Object.entries(r.callCounts).filter(([k]) => k.includes(pathPart)).reduce((a, [, v]) => a + v, 0)
      const smSeen = Object.entries(r.callCounts).filter(([k]) => k.startsWith(world.secrets.url)).reduce((a, [, v]) => a + v, 0)
      const rows: string[][] = []
      for (const [id, count] of world.secrets.calls) {
        rows.push([`Secrets Manager GetSecretValue — ${id.split(':').at(-1)}`, String(count), '1'])
      }
      if (world.secrets.calls.size === 0) rows.push(['Secrets Manager GetSecretValue', '0', '1'])
      rows.push(['OIDC discovery document', String(world.issuer.discoveryFetches()), '1'])
      rows.push(['JWKS', String(world.issuer.jwksFetches()), '1'])
      rows.push(['githosted calls', String(Object.entries(r.callCounts).filter(([k]) => k.startsWith(world.githosted.url)).reduce((a, [, v]) => a + v, 0)), `${events.length} (one ExchangeToken per mint)`])
      s.tables.push({ caption: `${served} of ${events.length} requests served`, headers: ['call', 'count', 'expected'], rows })
      s.notes.push(
        `Cross-check from inside the container: ${smSeen} Secrets Manager call(s), ${seen('/.well-known/jwks')} JWKS and ${seen('openid-configuration')} discovery fetch(es).`,
      )
      const perSecret = [...world.secrets.calls.entries()].map(([k, v]) => `${k.split(':').at(-1)}: ${v}`).join(', ') || '0'
      const perSecretOk = world.secrets.calls.size > 0 && [...world.secrets.calls.values()].every((c) => c === 1)
      const jwksOk = world.issuer.jwksFetches() === 1 && world.issuer.discoveryFetches() <= 1
      const jwksMeasured = `${world.issuer.jwksFetches()} JWKS, ${world.issuer.discoveryFetches()} discovery`
      s.figures['secret fetches per secret'] = [...world.secrets.calls.values()].join(',')
      s.figures['jwks fetches'] = world.issuer.jwksFetches()

      // Part two: the cache period. 1 s TTL, requests paced over several periods.
      const periods = reps(ctx, 4, 3)
      const paceMs = 100
      const paced: unknown[] = []
      for (let i = 0; i < (periods * 1000) / paceMs; i++) paced.push((await token.event(world)).event)
      world.secrets.reset()
      world.issuer.reset()
      ctx.log(`paced run over ~${periods} s with a 1 s cache period`)
      const p = await runInFreshProcess(
        { bundle: bundle.outfile, mode: 'warm', events: paced, paceMs },
        { env: { ...world.env, SECRET_CACHE_TTL_SECONDS: '1' } },
      )
      if (p.error) throw new Error(`child failed: ${p.error}`)
      const spanMs = p.samples.reduce((a, x) => a + x.ms, 0) + paceMs * p.samples.length
      const expected = Math.ceil(spanMs / 1000)
      const workspace = [...world.secrets.calls.entries()].find(([k]) => k.includes('workspace-token'))?.[1] ?? 0
      s.tables.push({
        caption: `SECRET_CACHE_TTL_SECONDS=1, ${paced.length + 1} requests spread over ${(spanMs / 1000).toFixed(1)} s`,
        headers: ['secret', 'GetSecretValue calls', 'cache periods touched'],
        rows: [...world.secrets.calls.entries()].map(([k, v]) => [k.split(':').at(-1)!, String(v), `${expected} (±1 for period alignment)`]),
      })
      const periodOk = workspace >= expected - 1 && workspace <= expected + 1
      s.budgets.push({
        budget: 'Secret fetches over 1,000 warm requests (one cache period)',
        limit: 'exactly 1 per secret',
        measured: perSecret,
        pass: perSecretOk,
        ...(perSecretOk ? {} : { why: 'a secret was fetched more than once (or never) within one cache period' }),
      })
      s.budgets.push({
        budget: 'Secret fetches per cache period (1 s TTL, paced)',
        limit: '1 per period',
        measured: `workspace token: ${workspace} over ${expected} period(s)`,
        pass: periodOk,
      })
      s.budgets.push({
        budget: 'JWKS fetches per issuer per container (1,000 requests)',
        limit: 'exactly 1',
        measured: jwksMeasured,
        pass: jwksOk,
      })
    } finally {
      await world.close()
    }
    return s
  },
}
