/**
 * One budget per request (lib/deadline.ts): under 100% RepoBusy a deploy
 * ends with a 503 + Retry-After, having made a bounded number of WriteFile
 * calls (the client's retries and the deploy loop share one backoff), and
 * nothing is written. Time is virtual (the deadline's clock advances by the
 * pauses it takes), so the test is fast and the counts are those of the
 * default 20 s budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { generateBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { DEFAULT_REQUEST_BUDGET_MS } from '../../../functions/lib/deadline.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../../functions/lib/policy/index.js'
import { startTestGithosted, testProfile, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'
import { createTestDeployApp } from '../../helpers/deploy-app.js'

let gh: TestGithosted
let served: ServedApp
const key = generateBrokerKey()
let virtualMs = 0

beforeAll(async () => {
  gh = await startTestGithosted()
  const logger = createLogger({ level: 'warn', sink: () => {} })
  const app = createTestDeployApp({
    gh,
    keys: { ci: key },
    policy: loadPolicy({ version: 1, rules: [{ name: 'ci', match: { brokerKey: 'ci' }, grant: { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h', environments: ['staging'] } }] }),
    logger,
    requestBudget: {
      ms: DEFAULT_REQUEST_BUDGET_MS,
      now: () => virtualMs,
      sleep: async (ms) => {
        virtualMs += ms
      },
    },
  })
  served = await serveApp(app.fetch)
})

afterAll(async () => {
  await served?.close()
  await gh?.close()
})

describe(`request budget under 100% RepoBusy (profile ${testProfile()})`, () => {
  it('answers 503 with Retry-After after a bounded number of writes, and writes nothing', async () => {
    const before = (await new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs').log({ limit: 1 }))[0]!.sha
    gh.setFaults({ repoBusy: { rate: 1 } })
    const start = gh.callCounts()
    const res = await fetch(`${served.url}/v1/deploys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:busy' }),
    })
    gh.setFaults({})
    const end = gh.callCounts()
    const calls = Object.fromEntries(Object.keys(end).map((m) => [m, (end[m] ?? 0) - (start[m] ?? 0)]))
    const body = (await res.json()) as Record<string, unknown>
    expect(res.status).toBe(503)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(body.code).toBe('REQUEST_DEADLINE')
    const writes = calls.WriteFile ?? 0
    // Before: 5 client tries x 25 deploy attempts = 125. Now one shared backoff within the budget.
    expect(writes).toBeGreaterThan(1)
    expect(writes).toBeLessThanOrEqual(40)
    expect(virtualMs).toBeLessThanOrEqual(DEFAULT_REQUEST_BUDGET_MS)
    const after = (await new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs').log({ limit: 1 }))[0]!.sha
    expect(after).toBe(before)
    console.log(`[perf] 100% RepoBusy, ${DEFAULT_REQUEST_BUDGET_MS / 1000} s budget: ${writes} WriteFile calls, ${Object.values(calls).reduce((a, b) => a + b, 0)} githosted calls in all, ${(virtualMs / 1000).toFixed(1)} s of backoff, then 503 (${body.detail})`)
  })
})
