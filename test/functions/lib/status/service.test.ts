/**
 * The status service without HTTP: plain inputs in, a conditional read out.
 * The HTTP mapping is test/functions/status/app.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../../functions/lib/observability/logger.js'
import type { CallerIdentity } from '../../../../functions/lib/auth/types.js'
import { UnauthenticatedError } from '../../../../functions/lib/githosted/errors.js'
import type { RuleTrace } from '../../../../functions/lib/policy/types.js'
import { createStatusService, type StatusServiceDeps } from '../../../../functions/lib/status/service.js'
import { fakeAuthenticator, fakeClientFactory } from '../../status/fakes.js'
import { FakeRepo } from './fake-repo.js'

const identity: CallerIdentity = { kind: 'broker-key', keyName: 'ci-test', subject: 'key:ci-test', claims: {}, credentialId: 'k1' }

function setup(overrides: Partial<StatusServiceDeps> = {}) {
  const repo = new FakeRepo()
  repo.commit({ 'environments/staging.json': '{"image":"app:1.0"}\n' }, 'Seed')
  const lines: string[] = []
  const tokens = ['gr_first', 'gr_second']
  let fetched = 0
  let invalidated = 0
  const githosted = fakeClientFactory({ 'deploy-configs': repo })
  const service = createStatusService({
    readToken: {
      get: async () => tokens[Math.min(fetched++, tokens.length - 1)]!,
      invalidate: () => void invalidated++,
    },
    githosted,
    authenticator: fakeAuthenticator,
    logger: createLogger({ sink: (l) => lines.push(l) }),
    ...overrides,
  })
  return { service, repo, lines, githosted, invalidations: () => invalidated }
}

describe('status service', () => {
  it('reads the report at the head, and answers not-modified from the head alone', async () => {
    const { service, repo } = setup()
    const first = await service.status({ requestId: 'r1', identity })
    expect(first).toMatchObject({ notModified: false, etag: `W/"status.h0-${repo.head}"` })
    const before = repo.calls.length
    const again = await service.status({ requestId: 'r2', identity, ifNoneMatch: first.etag })
    expect(again).toEqual({ notModified: true, etag: first.etag })
    expect(repo.calls.slice(before)).toEqual(['log'])
  })

  it('checks the repo and the query values it is given as sent', async () => {
    const { service } = setup()
    await expect(service.status({ requestId: 'r', identity, repo: '../x' })).rejects.toMatchObject({ status: 400, field: 'repo' })
    await expect(service.status({ requestId: 'r', identity, repo: 'other' })).rejects.toMatchObject({ status: 404 })
    await expect(service.status({ requestId: 'r', identity, history: '21' })).rejects.toMatchObject({ status: 400, field: 'history' })
    await expect(service.history({ requestId: 'r', identity, environment: 'staging', limit: '0' })).rejects.toMatchObject({ field: 'limit' })
  })

  it('gives the caller the policy reason and operators the trace', async () => {
    const trace: RuleTrace[] = [{ rule: 'readers', matched: false }]
    const { service, lines } = setup({
      policy: { authorizeRead: () => ({ allowed: false, identified: false, reason: 'not allowed', trace }) },
    })
    await expect(service.status({ requestId: 'req-7', identity })).rejects.toMatchObject({ status: 403, message: 'not allowed' })
    const denied = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'status read denied')
    expect(denied).toMatchObject({ requestId: 'req-7', trace })
  })

  it('drops a read token githosted rejects, and reads with the fresh one next time', async () => {
    const { service, repo, githosted, invalidations } = setup()
    const log = repo.log.bind(repo)
    repo.log = () => Promise.reject(new UnauthenticatedError('rejected', { connectCode: 'unauthenticated', procedure: 'Log' }))
    await expect(service.dashboard()).rejects.toBeInstanceOf(UnauthenticatedError)
    expect(invalidations()).toBe(1)
    repo.log = log
    expect((await service.dashboard()).notModified).toBe(false)
    expect(invalidations()).toBe(1)
    expect(githosted.tokens).toEqual(['gr_first', 'gr_second'])
  })
})
