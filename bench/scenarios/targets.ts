/**
 * What the benchmarks invoke: the four product Lambdas and the two peers,
 * each with the request it serves first (a real fixture shape, credentials
 * made at run time) and the statuses that count as success. A target that
 * cannot run yet says why (`missing()`), and the scenarios report that as
 * "not measured" instead of inventing a number.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { buildFunction, buildPeer, hasFunction, ROOT, type BuiltBundle } from '../harness/bundles.js'
import { eventBridgeFixture, httpEvent } from '../harness/events.js'
import type { World } from '../harness/world.js'

export interface Target {
  name: string
  kind: 'function' | 'peer'
  /** Null when runnable; else why not. */
  missing(): string | null
  build(): Promise<BuiltBundle>
  /** The event a fresh container serves first. */
  event(world: World): Promise<{ event: unknown; source: string }>
  /** Results that count as a served request (API Gateway status codes; null = no status, e.g. EventBridge). */
  ok: ReadonlyArray<number | null>
  /** Extra Lambda environment on top of world.env. */
  env?(world: World): Record<string, string>
  /** How it reads secrets, when it reads any (world.env alone means the SDK). */
  secrets?: SecretsMode
}

/** Secrets through the Parameters and Secrets extension (as the stack ships) or the bundled SDK. */
export type SecretsMode = 'extension' | 'sdk'

/** `t` reading its secrets the `mode` way (the world's fake serves both protocols). */
export function withSecrets(t: Target, mode: SecretsMode, name = t.name): Target {
  return {
    ...t,
    name,
    secrets: mode,
    env: (w) => ({ ...(t.env?.(w) ?? {}), ...(mode === 'extension' ? w.secrets.extensionEnv() : {}) }),
  }
}

const functionMissing = (name: string) => () =>
  hasFunction(name) ? null : `functions/${name}/handler.ts does not exist yet`

/** POST /v1/tokens with a fresh OIDC token: the recommended path (verify, policy, mint). */
export async function tokenRequest(world: World, repo = 'deploy-configs') {
  const jwt = await world.issuer.mint()
  return httpEvent({
    method: 'POST',
    path: '/v1/tokens',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repos: [repo], permission: 'read', ttl: '10m' }),
    fixture: 'post-v1-tokens',
  })
}

/** POST /v1/tokens with the broker key (the `ci-legacy` rule of the shipped policy). */
export function tokenRequestWithKey(world: World, repo = 'deploy-configs') {
  return httpEvent({
    method: 'POST',
    path: '/v1/tokens',
    headers: { authorization: `Bearer ${world.brokerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repos: [repo], permission: 'read', ttl: '10m' }),
    fixture: 'post-v1-tokens',
  })
}

/** POST /v1/deploys setting the image of one environment (a key-level change, a real commit). */
export async function deployRequest(world: World, environment = 'staging') {
  const jwt = await world.issuer.mint()
  return httpEvent({
    method: 'POST',
    path: '/v1/deploys',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      repo: 'deploy-configs',
      environment,
      image: `ghcr.io/acme/app:bench-${crypto.randomUUID().slice(0, 8)}`,
    }),
    fixture: 'deploy-post-v1-deploys.json',
  })
}

let ecrTag = 0

/** The ECR push fixture with a fresh event id, time and tag, so each delivery is a new deploy. */
function ecrPush() {
  const f = eventBridgeFixture('ecr-push-v1.4.2')
  if (!f) return null
  const event = structuredClone(f.event) as Record<string, unknown> & { detail: Record<string, unknown> }
  event.id = crypto.randomUUID()
  event.time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  event.detail['image-tag'] = `v2.0.${ecrTag++}`
  return { event, source: `${f.source} (fresh id, time, tag)` }
}

/** The token function trusting the bench issuer: the OIDC path (the recommended one). */
export const token: Target = {
  name: 'token',
  kind: 'function',
  missing: functionMissing('token'),
  build: () => buildFunction('token', { issuer: 'bench' }),
  event: (w) => tokenRequest(w),
  ok: [200, 201],
}

/** The token bundle exactly as shipped, authenticated with a broker key. */
export const tokenShipped: Target = {
  name: 'token (as shipped, broker key)',
  kind: 'function',
  missing: functionMissing('token'),
  build: () => buildFunction('token'),
  event: async (w) => tokenRequestWithKey(w),
  ok: [200, 201],
}

export const deploy: Target = {
  name: 'deploy',
  kind: 'function',
  missing: functionMissing('deploy'),
  build: () => buildFunction('deploy', { issuer: 'bench' }),
  event: (w) => deployRequest(w),
  ok: [200, 201, 202],
}

export const events: Target = {
  name: 'events',
  kind: 'function',
  missing: () =>
    functionMissing('events')() ??
    (eventBridgeFixture('ecr-push-v1.4.2') ? null : 'no ECR push fixture in test/fixtures/eventbridge/ yet'),
  build: () => buildFunction('events'),
  async event() {
    return ecrPush()!
  },
  ok: [null, 200],
}

export const status: Target = {
  name: 'status',
  kind: 'function',
  missing: functionMissing('status'),
  build: () => buildFunction('status', { issuer: 'bench' }),
  async event(w) {
    const jwt = await w.issuer.mint()
    return httpEvent({ method: 'GET', path: '/v1/status', headers: { authorization: `Bearer ${jwt}`, accept: 'application/json' }, fixture: 'status-get-v1-status.json' })
  },
  ok: [200],
}

export const helloHono: Target = {
  name: 'hello-hono',
  kind: 'peer',
  missing: () => null,
  build: () => buildPeer('hello-hono'),
  event: (w) => tokenRequest(w),
  ok: [200],
}

/**
 * Floor (b): hello-world Hono plus the work no broker can avoid (one RS256 JWT verified against an
 * in-memory JWK, one keep-alive node:http call to githosted). Bench-only environment: the issuer's
 * public JWK and the workspace token it calls githosted with.
 */
export const floorNecessary: Target = {
  name: 'floor-necessary',
  kind: 'peer',
  missing: () => null,
  build: () => buildPeer('floor-necessary'),
  event: (w) => tokenRequest(w),
  ok: [201],
  env: (w) => ({ BENCH_FLOOR_JWK: JSON.stringify(w.issuer.jwk), BENCH_FLOOR_GITHOSTED_TOKEN: w.githosted.bootstrapToken ?? '' }),
}

export const expressToken: Target = {
  name: 'express-token',
  kind: 'peer',
  missing: () =>
    existsSync(join(ROOT, 'bench', 'peers', 'express-token.ts'))
      ? functionMissing('token')()
      : 'bench/peers/express-token.ts is not written',
  build: () => buildPeer('express-token'),
  event: (w) => tokenRequest(w),
  ok: [200, 201],
}

export const FUNCTION_TARGETS = [token, tokenShipped, deploy, events, status]
export const PEER_TARGETS = [helloHono, floorNecessary, expressToken]
