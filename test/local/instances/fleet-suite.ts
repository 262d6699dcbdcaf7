/**
 * What must hold across Lambda containers, checked with 4 broker processes
 * (separate Node processes: local/instances.ts, as `npm start -- --instances
 * 4` runs them) over one dynalite table and one local githosted, for one
 * server profile (docs/githosted-compatibility.md). Each profile's file calls
 * `fleetSuite`, so the profiles run in parallel.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFunction } from '../../../build/bundle.js'
import type { ProfileName } from '../../../local/githosted/index.js'
import { loadEventFixture } from '../../fixtures/eventbridge/index.js'
import { startBrokerFleet, type BrokerFleet } from '../../helpers/broker-fleet.js'
import { startFakeSecretsManager, type FakeSecretsManager } from '../../helpers/fake-secrets-manager.js'

const REPO = 'deploy-configs'
const PROD = 'environments/production.json'
const STAGING = 'environments/staging.json'
const WORKSPACE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/workspace-token-FlEeT1'

/** 503 codes that mean the deploy wrote nothing (docs/state-model.md), so a client may simply retry. */
const NOTHING_WRITTEN = ['WRITE_LEASE_BUSY', 'STATE_UNAVAILABLE', 'REQUEST_DEADLINE']

interface Answer {
  status: number
  body: Record<string, unknown>
}

export function fleetSuite(mode: ProfileName) {
  describe(`4 broker processes, githosted ${mode}`, () => {
    let fleet: BrokerFleet
    const outdir = mkdtempSync(join(tmpdir(), `fleet-${mode}-`))
    let sm: FakeSecretsManager
    let eventsBundle: string

    beforeAll(async () => {
      fleet = await startBrokerFleet({ count: 4, profile: mode })
      eventsBundle = pathToFileURL((await bundleFunction('events', { outdir })).outfile).href
      sm = await startFakeSecretsManager({ [WORKSPACE_ARN]: fleet.gh.bootstrapToken })
    }, 120_000)

    afterAll(async () => {
      await fleet?.close()
      await sm?.close()
      rmSync(outdir, { recursive: true, force: true })
    })

    const urls = () => fleet.brokers.filter((b) => b.child.exitCode === null && b.child.signalCode === null).map((b) => b.url)

    async function call(url: string, path: string, init: { method?: string; auth?: string; body?: unknown; headers?: Record<string, string> }): Promise<Answer> {
      const res = await fetch(url + path, {
        method: init.method ?? 'POST',
        headers: {
          authorization: `Bearer ${init.auth ?? fleet.brokerKey}`,
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...init.headers,
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      })
      const text = await res.text()
      let body: Record<string, unknown> = {}
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      } catch {
        body = { text }
      }
      return { status: res.status, body }
    }

    /**
     * A deploy as CI clients send it: a 503 that says nothing was written
     * (the repo's lease stayed busy past the request's deadline, or the
     * state table did not answer in time: both happen on a loaded 2-core
     * machine) is retried after its Retry-After, up to 5 times. Network
     * errors are answers too (status 0).
     */
    const deploy = async (url: string, set: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Answer> => {
      for (let attempt = 1; ; attempt++) {
        const a: Answer = await call(url, '/v1/deploys', { body: { repo: REPO, environment: 'production', set, ...extra } }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } }))
        if (a.status !== 503 || !NOTHING_WRITTEN.includes(String(a.body.code)) || attempt > 5) return a
        await new Promise((r) => setTimeout(r, Number(a.body.retryAfterSeconds ?? 1) * 1000))
      }
    }

    const readProd = async () => JSON.parse((await fleet.admin.repo(REPO).read(PROD)).content) as { image: string; fleet?: Record<string, string> }

    it('mints exactly once when one ID token reaches all four processes at once', async () => {
      const idToken = await fleet.oidc.mint('github')
      const answers = await Promise.all(urls().map((u) => call(u, '/v1/tokens', { auth: idToken, body: { repo: REPO, permission: 'read', ttl: '15m' } })))
      expect(answers.map((a) => a.status).sort()).toEqual([201, 401, 401, 401])
      for (const a of answers.filter((x) => x.status === 401)) expect(a.body.code).toBe('OIDC_REPLAYED')
    })

    it('revokes through one process a token minted through another', async () => {
      const [a, b] = urls()
      const minted = await call(a!, '/v1/tokens', { body: { repo: REPO, permission: 'read', ttl: '15m' } })
      expect(minted.status).toBe(201)
      const revoked = await call(b!, `/v1/tokens/${String(minted.body.tokenId)}`, { method: 'DELETE' })
      expect(revoked.status).toBe(204)
      // githosted no longer accepts it.
      const list = await fleet.admin.listTokens()
      expect(list.tokens.find((t) => t.id === minted.body.tokenId)?.revokedAt).toBeInstanceOf(Date)
    })

    it('counts the rate limit across processes (30 token requests a minute per identity)', async () => {
      // Stay inside one fixed window: start early in a minute.
      const intoWindow = Date.now() % 60_000
      if (intoWindow > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoWindow + 100))
      const us = urls()
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          call(us[i % us.length]!, '/v1/tokens?dryRun=true', { body: { repo: REPO, permission: 'read', ttl: '15m' } }),
        ),
      )
      const allowed = answers.filter((a) => a.status === 200).length
      const limited = answers.filter((a) => a.status === 429)
      // Per-process buckets would have let all 40 through. The revoke test's mint and revoke (same
      // identity, same scope) may count in this window.
      expect(allowed).toBeLessThanOrEqual(30)
      expect(allowed).toBeGreaterThanOrEqual(28)
      expect(limited.length).toBe(40 - allowed)
      for (const a of limited) expect(a.body).toMatchObject({ code: 'RATE_LIMITED' })
    }, 30_000)

    it('replays an idempotency key retried on another process, with no new commit', async () => {
      const [a, , c] = urls()
      const key = `idem-${mode}`
      const first = await deploy(a!, { '/fleet/idem': 'once' }, { idempotencyKey: key })
      expect(first.status).toBe(200)
      expect(first.body.changed).toBe(true)
      const before = (await fleet.admin.repo(REPO).log({ limit: 1 }))[0]!.sha
      // Meanwhile a newer value for the same key lands; the retry must not undo it.
      expect((await deploy(urls()[1]!, { '/fleet/idem': 'newer' })).status).toBe(200)
      const head = (await fleet.admin.repo(REPO).log({ limit: 1 }))[0]!.sha
      expect(head).not.toBe(before)
      const retry = await deploy(c!, { '/fleet/idem': 'once' }, { idempotencyKey: key })
      expect(retry.status).toBe(200)
      expect(retry.body).toMatchObject({ replayed: true, commit: first.body.commit })
      expect((await fleet.admin.repo(REPO).log({ limit: 1 }))[0]!.sha).toBe(head)
      expect((await readProd()).fleet?.idem).toBe('newer')
    })

    it('50 concurrent deploys over the four processes: none lost, none answered 409 ever at the tip', async () => {
      const seen = new Map<string, string>()
      let observing = true
      const observer = (async () => {
        while (observing) {
          const doc = await readProd().catch(() => undefined)
          for (const [k, v] of Object.entries(doc?.fleet ?? {})) seen.set(`${k}=${v}`, v)
          await new Promise((r) => setTimeout(r, 5))
        }
      })()
      const us = urls()
      const started = performance.now()
      const latencies: number[] = []
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          deploy(us[i % us.length]!, { [`/fleet/burst${i}`]: `v${i}` }).finally(() => latencies.push(performance.now() - started)),
        ),
      )
      observing = false
      latencies.sort((a, b) => a - b)
      // Reported, not asserted: speed is measured in `npm run bench`.
      console.info(`[perf] ${mode}: 50 deploys over 4 processes, p50 ${Math.round(latencies[24]!)} ms, p95 ${Math.round(latencies[47]!)} ms`)
      await observer
      const final = await readProd()
      const ok = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 200)
      expect(ok.length, JSON.stringify(answers.filter((a) => a.status !== 200).slice(0, 3))).toBe(50)
      for (const { i } of ok) expect(final.fleet?.[`burst${i}`], `deploy ${i}`).toBe(`v${i}`)
      const refused = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 409)
      for (const { i } of refused) expect(seen.has(`burst${i}=v${i}`)).toBe(false)
    }, 180_000)

    it('loses no deploy answered 200 when githosted stops for 3 s mid-burst', async () => {
      const us = urls()
      const burst = Array.from({ length: 24 }, (_, i) => deploy(us[i % us.length]!, { [`/fleet/outage${i}`]: `v${i}` }))
      await new Promise((r) => setTimeout(r, 60))
      await fleet.proxy.stop()
      await new Promise((r) => setTimeout(r, 3_000))
      await fleet.proxy.start()
      const answers = await Promise.all(burst)
      const final = await readProd()
      const ok = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 200)
      expect(ok.length).toBeGreaterThan(0)
      for (const { i } of ok) expect(final.fleet?.[`outage${i}`], `deploy ${i}`).toBe(`v${i}`)
      for (const a of answers) expect([200, 502, 503, 504], JSON.stringify(a.body)).toContain(a.status)
    }, 120_000)

    it('the same ECR event in two fresh containers makes one commit, and an older event afterwards does not regress', async () => {
      const push = loadEventFixture('ecr-push-v1.4.2')
      const older = loadEventFixture('ecr-push-v1.4.1-older')
      const before = (await fleet.admin.repo(REPO).log({ path: STAGING, limit: 50 })).length
      const [one, two] = await Promise.all([invokeEvents(push), invokeEvents(push)])
      const outcomes = [one.targets[0]?.outcome, two.targets[0]?.outcome].sort()
      expect(outcomes).toEqual(['committed', 'duplicate'])
      const late = await invokeEvents(older)
      expect(late.targets[0]?.outcome).toBe('skipped')
      const staging = JSON.parse((await fleet.admin.repo(REPO).read(STAGING)).content) as { image: string }
      expect(staging.image).toMatch(/:v1\.4\.2$/)
      expect((await fleet.admin.repo(REPO).log({ path: STAGING, limit: 50 })).length).toBe(before + 1)
    }, 120_000)

    // Last: it leaves one process dead.
    it('loses no deploy answered 200 when a broker process is killed with SIGKILL mid-burst', async () => {
      const victim = fleet.brokers[3]!
      const us = fleet.brokers.map((b) => b.url)
      const burst = Array.from({ length: 24 }, (_, i) => deploy(us[i % us.length]!, { [`/fleet/kill${i}`]: `v${i}` }))
      await new Promise((r) => setTimeout(r, 80))
      victim.child.kill('SIGKILL')
      const answers = await Promise.all(burst)
      const final = await readProd()
      const ok = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 200)
      // Every request to a live process is answered 200 (after the dead one's lease expires).
      expect(ok.length).toBeGreaterThanOrEqual(18)
      for (const { i } of ok) expect(final.fleet?.[`kill${i}`], `deploy ${i}`).toBe(`v${i}`)
    }, 150_000)

    /** Runs the built events bundle in a fresh Node process, as a new Lambda container would. */
    function invokeEvents(event: unknown): Promise<{ targets: Array<{ outcome: string }> }> {
      const script = `const m = await import(${JSON.stringify(eventsBundle)}); const r = await m.handler(JSON.parse(process.env.EVENT), { awsRequestId: 'fleet' }); process.stdout.write('RESULT ' + JSON.stringify(r) + '\\n')`
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          ...process.env,
          EVENT: JSON.stringify(event),
          ...fleet.state.env,
          AWS_REGION: 'eu-west-1',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
          WORKSPACE_TOKEN_SECRET_ARN: WORKSPACE_ARN,
          GITHOSTED_URL: fleet.proxy.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      return new Promise((resolve, reject) => {
        child.on('exit', (code) => {
          const line = out.split('\n').find((l) => l.startsWith('RESULT '))
          if (code !== 0 || !line) return reject(new Error(`events container exited ${code}: ${err.slice(-2000)} ${out.slice(-2000)}`))
          resolve(JSON.parse(line.slice(7)))
        })
      })
    }
  })
}
