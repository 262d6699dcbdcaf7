/**
 * The deploy endpoints: HTTP onto the deploy service
 * (lib/deploys/service.ts), over the edge kit (lib/edge/app.ts). Lambda
 * (handler.ts), `npm start` and tests build the same app.
 *
 *   POST   /v1/deploys           {repo, environment, image | set, idempotencyKey?, dryRun?, overrideHold?, reason?}
 *   POST   /v1/deploys/rollback  {repo, environment, to?, keys?, idempotencyKey?, dryRun?, overrideHold?, reason?}
 *   POST   /v1/deploys/hold      {repo, environment, reason}
 *   DELETE /v1/deploys/hold?repo=..&environment=..[&reason=..]
 *   POST   /v1/deploys/verify    {repo, environment, commit?, check}
 *   POST   /v1/promotions        {repo, from, to, keys?, reason?, idempotencyKey?, allowTagOnly?, dryRun?}
 *   GET    /healthz
 */
import type { Context } from 'hono'
import { callOf, createFunctionApp, lazyDeps, type EdgeEnv } from '../lib/edge/app.js'
import { limitBody, readFields } from '../lib/edge/body.js'
import { sourceIpLimit } from '../lib/edge/source-ip.js'
import type { ApplyResult } from '../lib/deploys/apply.js'
import type { HoldOutcome } from '../lib/deploys/hold-actions.js'
import { parseJsonText, stringifyExact } from '../lib/deploys/json-parse.js'
import {
  parseDeployBody,
  parseHoldBody,
  parsePromotionBody,
  parseReleaseQuery,
  parseRollbackBody,
  parseVerifyBody,
} from '../lib/deploys/requests.js'
import { createDeployService, type DeployCall, type DeployService, type DeployServiceDeps, type RollbackResult } from '../lib/deploys/service.js'
import { ValidationError } from '../lib/errors.js'

export type DeployAppDeps = DeployServiceDeps & {
  /** Request ids where API Gateway gives none (tests pass a counter). Default: random UUID. */
  requestId?: () => string
}

/** Deploy bodies carry `set` values up to 16 KiB each; leave room for a few. */
const MAX_BODY_BYTES = 64 * 1024

type C = Context<EdgeEnv<DeployService>>

export function createDeployApp(deps: DeployAppDeps | (() => DeployAppDeps)) {
  const service = lazyDeps(deps, createDeployService)
  const app = createFunctionApp<DeployService>({
    deps: service,
    depsOn: ['/v1/*'],
    ...(typeof deps === 'function' ? {} : deps.requestId ? { newRequestId: deps.requestId } : {}),
  })
  app.use('/v1/*', sourceIpLimit(() => service().ipRateLimiter))
  app.use('/v1/*', limitBody(MAX_BODY_BYTES))

  app.post('/v1/deploys', async (c) => {
    // Set values keep numbers a double would round (exact-number.ts), and come back as sent.
    const out = await c.var.deps.apply(deployCall(c), async () =>
      parseDeployBody(await readFields(c, { parseJson: parseJsonText }), c.req.header('idempotency-key')),
    )
    return exactJson(c, applyResponse(out))
  })

  app.post('/v1/deploys/rollback', async (c) => {
    const out = await c.var.deps.rollback(deployCall(c), async () => parseRollbackBody(await readFields(c), c.req.header('idempotency-key')))
    return c.json(applyResponse(out), 200)
  })

  app.post('/v1/deploys/hold', async (c) => {
    const out = await c.var.deps.hold(deployCall(c), async () => parseHoldBody(await readFields(c)))
    return c.json(holdResponse(out), 200)
  })

  app.delete('/v1/deploys/hold', async (c) => {
    const out = await c.var.deps.release(deployCall(c), async () => {
      // Fields travel in the query string; a body would be silently ignored by some proxies, so refuse it.
      if ((await c.req.text()).trim() !== '') {
        throw new ValidationError('DELETE /v1/deploys/hold takes repo, environment and reason in the query string, not a body.')
      }
      return parseReleaseQuery(new URL(c.req.url).searchParams)
    })
    return c.json(holdResponse(out), 200)
  })

  app.post('/v1/deploys/verify', async (c) => {
    return c.json(await c.var.deps.verify(deployCall(c), async () => parseVerifyBody(await readFields(c))), 200)
  })

  app.post('/v1/promotions', async (c) => {
    const out = await c.var.deps.promote(deployCall(c), async () => parsePromotionBody(await readFields(c), c.req.header('idempotency-key')))
    return exactJson(c, { ...applyResponse(out), from: out.promotedFrom })
  })

  return app
}

function deployCall(c: C): DeployCall {
  return { ...callOf(c), authorization: c.req.header('authorization') }
}

function exactJson(c: C, body: unknown): Response {
  return c.body(stringifyExact(body), 200, { 'content-type': 'application/json' })
}

function holdResponse(r: HoldOutcome) {
  return {
    held: r.held,
    ...(r.hold ? { hold: r.hold } : {}),
    commit: r.commit,
    changed: r.changed,
    repo: r.repo,
    environment: r.environment,
    path: r.path,
    ...(r.previous ? { previous: r.previous } : {}),
  }
}

function applyResponse(r: ApplyResult & Partial<Pick<RollbackResult, 'rolledBackTo' | 'rolledBackToOrigin'>>) {
  return {
    commit: r.commit,
    changed: r.changed,
    previous: r.previous,
    current: r.current,
    repo: r.repo,
    environment: r.environment,
    path: r.path,
    ...(r.skipped ? { skipped: r.skipped, reason: r.reason } : {}),
    ...(r.replayed ? { replayed: true } : {}),
    ...(r.dryRun ? { dryRun: true, diff: r.diff } : {}),
    ...(r.repairCommit ? { repairCommit: r.repairCommit } : {}),
    ...(r.rolledBackTo ? { rolledBackTo: r.rolledBackTo } : {}),
    ...(r.rolledBackToOrigin ? { rolledBackToOrigin: r.rolledBackToOrigin } : {}),
    attempts: r.attempts,
  }
}
