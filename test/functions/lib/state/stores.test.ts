/**
 * The shared-state stores against a real DynamoDB protocol (dynalite): what
 * each guarantees when several containers (here: several clients) use one
 * table, and that a table that cannot answer fails closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RateLimitedError } from '../../../../functions/lib/errors.js'
import { enforceRateLimit } from '../../../../functions/lib/limits/rate-limiter.js'
import { createDynamoDb, StateUnavailableError } from '../../../../functions/lib/state/dynamodb.js'
import { createSharedState } from '../../../../functions/lib/state/index.js'
import { LeaseBusyError, LeaseLostError } from '../../../../functions/lib/state/lease.js'
import { envVars, readStateConfig } from '../../../../functions/lib/lambda/config.js'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { startTestState, type TestState } from '../../../helpers/state-table.js'

let t: TestState
beforeAll(async () => {
  t = await startTestState()
})
afterAll(async () => {
  await t.close()
})

const inAMinute = () => new Date(Date.now() + 60_000)

describe('replay store', () => {
  it('lets exactly one of many concurrent claims of one key win, across clients', async () => {
    const clients = [t.state(), t.state(), t.state(), t.state()]
    const results = await Promise.all(clients.flatMap((c) => [1, 2, 3].map(() => c.replay().claim('k-once', inAMinute()))))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  it('frees a released key and re-claims an expired one', async () => {
    const r = t.state().replay()
    expect(await r.claim('k-release', inAMinute())).toBe(true)
    await r.release!('k-release')
    expect(await r.claim('k-release', inAMinute())).toBe(true)
    expect(await r.claim('k-expired', new Date(Date.now() - 5_000))).toBe(true)
    expect(await r.claim('k-expired', inAMinute())).toBe(true)
  })
})

describe('ownership store', () => {
  it('finds a record written by another client, and forgets expired ones', async () => {
    const [a, b] = [t.state().ownership(), t.state().ownership()]
    await a.put({ tokenId: 'tok_1', owner: 'owner-hash', expiresAt: inAMinute() })
    expect(await b.get('tok_1')).toMatchObject({ tokenId: 'tok_1', owner: 'owner-hash' })
    await b.delete('tok_1')
    expect(await a.get('tok_1')).toBeUndefined()
    await a.put({ tokenId: 'tok_2', owner: 'o', expiresAt: new Date(Date.now() - 1) })
    expect(await b.get('tok_2')).toBeUndefined()
  })
})

describe('shared rate limiter', () => {
  it('counts one limit across clients and answers 429 with Retry-After inside the window', async () => {
    const limiters = [1, 2, 3].map(() => t.state().rateLimiter({ scope: 'test', limit: 5, windowSeconds: 60 }))
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => limiters[i % 3]!.take('identity-a')))
    expect(results.filter((r) => r.allowed)).toHaveLength(5)
    const denied = results.find((r) => !r.allowed)!
    expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(denied.retryAfterSeconds).toBeLessThanOrEqual(60)
    // Another identity and another scope have their own counts.
    expect((await limiters[0]!.take('identity-b')).allowed).toBe(true)
    expect((await t.state().rateLimiter({ scope: 'other', limit: 1 }).take('identity-a')).allowed).toBe(true)
    await expect(enforceRateLimit(limiters[1]!, 'identity-a')).rejects.toBeInstanceOf(RateLimitedError)
  })
})

describe('idempotency and watermarks', () => {
  it('replays a recorded result from another client', async () => {
    await t.state().idempotency<{ commit: string }>().put('repo|env|key|k1', { commit: 'abc' })
    expect(await t.state().idempotency<{ commit: string }>().get('repo|env|key|k1')).toEqual({ commit: 'abc' })
    expect(await t.state().idempotency().get('repo|env|key|k2')).toBeUndefined()
  })

  it('never lowers a mark, and reports the newest among keys', async () => {
    const w = t.state().watermarks()
    await w.raise('r', 'prod', ['/image'], { ms: 2_000, commit: 'new' })
    await w.raise('r', 'prod', ['/image'], { ms: 1_000, commit: 'old' })
    await w.raise('r', 'prod', ['/replicas'], { ms: 3_000, commit: 'rep' })
    expect(await t.state().watermarks().newest('r', 'prod', ['/image'])).toEqual({ ms: 2_000, commit: 'new', pointer: '/image' })
    expect(await w.newest('r', 'prod', ['/image', '/replicas'])).toMatchObject({ ms: 3_000, pointer: '/replicas' })
    expect(await w.newest('r', 'staging', ['/image'])).toBeUndefined()
  })
})

describe('write lease', () => {
  it('serializes holders across clients, with rising fences', async () => {
    const managers = [1, 2, 3, 4].map(() => t.state().leases({ durationMs: 5_000 }))
    let inside = 0
    let maxInside = 0
    const fences: number[] = []
    await Promise.all(
      managers.flatMap((m) =>
        [1, 2].map(async () => {
          const lease = await m.acquire('repo:serial', { deadline: Date.now() + 20_000 })
          inside++
          maxInside = Math.max(maxInside, inside)
          fences.push(lease.fence)
          await new Promise((r) => setTimeout(r, 5))
          inside--
          await m.release(lease)
        }),
      ),
    )
    expect(maxInside).toBe(1)
    expect(fences).toEqual([...fences].sort((a, b) => a - b))
    expect(new Set(fences).size).toBe(8)
  })

  it('frees itself after its duration when the holder dies, and the old holder can neither renew nor free it', async () => {
    const dead = t.state().leases({ durationMs: 300 })
    const next = t.state().leases({ durationMs: 5_000 })
    const lost = await dead.acquire('repo:crash', { deadline: Date.now() + 1_000 })
    await expect(next.acquire('repo:crash', { deadline: Date.now() + 50 })).rejects.toBeInstanceOf(LeaseBusyError)
    const taken = await next.acquire('repo:crash', { deadline: Date.now() + 5_000 })
    expect(taken.fence).toBe(lost.fence + 1)
    await expect(dead.ensure(lost, 10_000)).rejects.toBeInstanceOf(LeaseLostError)
    await dead.release(lost) // a no-op: it is not ours any more
    await expect(t.state().leases().acquire('repo:crash', { deadline: Date.now() + 50 })).rejects.toBeInstanceOf(LeaseBusyError)
    await next.release(taken)
  })
})

describe('failing closed', () => {
  it('answers StateUnavailableError (503) when the table cannot be reached or does not exist', async () => {
    const unreachable = createSharedState(
      { tableName: t.tableName, region: 'local-1', endpoint: 'http://127.0.0.1:9' },
      { env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } },
    )
    const err = await unreachable.rateLimiter({ scope: 's', limit: 1 }).take('k').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StateUnavailableError)
    expect((err as StateUnavailableError).status).toBe(503)
    await expect(unreachable.replay().claim('k', inAMinute())).rejects.toMatchObject({ status: 503 })
    const missing = createSharedState({ tableName: 'no-such-table', region: 'local-1', endpoint: t.endpoint }, { env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } })
    await expect(missing.idempotency().get('k')).rejects.toThrow(/ResourceNotFound/)
    unreachable.close()
    missing.close()
  })

  it('refuses to run without credentials or without a table name', async () => {
    const db = createDynamoDb({ region: 'local-1', endpoint: t.endpoint, credentials: () => { throw new StateUnavailableError('No AWS credentials') } })
    await expect(db.call('GetItem', {})).rejects.toBeInstanceOf(StateUnavailableError)
    expect(() => readStateConfig(envVars({}))).toThrow(ConfigError)
    expect(() => readStateConfig(envVars({ STATE_TABLE_NAME: 't', AWS_REGION: 'x', STATE_TABLE_ENDPOINT: 'nope' }))).toThrow(/STATE_TABLE_ENDPOINT/)
  })
})
