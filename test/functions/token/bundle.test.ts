/**
 * The shipped artifact: builds the token Lambda bundle (the same esbuild
 * config as `npm run build`), imports it, and invokes `handler(event,
 * context)` with real API Gateway v2 events. The bundle carries its own AWS
 * SDK, so Secrets Manager is a local server speaking the real JSON protocol,
 * reached through AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { loadV2Event } from '../../fixtures/apigw-v2/index.js'
import { lambdaContext } from '../../fixtures/lambda-context.js'
import type { FakeSecretsManager } from '../../helpers/fake-secrets-manager.js'
import type { TestGithosted } from '../../helpers/githosted.js'
import {
  KEYS_ARN,
  WORKSPACE_ARN,
  startLambdaBundles,
  workspaceAndBrokerKey,
  type ApiGatewayHandler,
  type LambdaBundles,
} from '../../helpers/lambda-bundle.js'

type Handler = ApiGatewayHandler

let bundles: LambdaBundles<'token'> | undefined
let gh: TestGithosted
let sm: FakeSecretsManager
let handler: Handler
const key = generateBrokerKey()

beforeAll(async () => {
  bundles = await startLambdaBundles({ functions: ['token'], ...workspaceAndBrokerKey('broker-ws-1', key) })
  ;({ gh, sm } = bundles)
  handler = await bundles.handler('token')
})

afterAll(async () => {
  await bundles?.close()
})

describe('token Lambda bundle', () => {
  it('makes no Secrets Manager call at import, and serves /healthz without one', async () => {
    expect(sm.calls).toEqual([])
    const res = await handler(loadV2Event('get-healthz'), lambdaContext())
    expect(res.statusCode).toBe(200)
    expect(JSON.parse(String(res.body))).toEqual({ status: 'ok' })
    expect(sm.calls).toEqual([])
  })

  it("serves /ci/token for curl's base64-encoded form event with the bare token", async () => {
    const event = loadV2Event('post-ci-token-curl-form', { authorization: `Bearer ${key}` })
    expect(event.isBase64Encoded).toBe(true)
    const res = await handler(event, lambdaContext())
    expect(res.statusCode).toBe(200)
    expect(res.isBase64Encoded).toBe(false)
    expect(res.headers?.['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.headers?.['x-request-id']).toBe(event.requestContext.requestId)
    const token = String(res.body)
    expect(token).toMatch(/^gr_[A-Za-z0-9_-]+$/)
    const file = await new Client({ token, baseUrl: gh.url }).repo('deploy-configs').read('environments/staging.json')
    expect(file.content).toContain('image')
  })

  it('serves /v1/tokens and DELETE /v1/tokens/{id}; one fetch per secret per cache period', async () => {
    const res = await handler(
      loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }),
      lambdaContext(),
    )
    expect(res.statusCode).toBe(201)
    const body = JSON.parse(String(res.body)) as { token: string; tokenId: string; ttlSeconds: number; rule: string }
    expect(body).toMatchObject({ ttlSeconds: 900, rule: 'ci-legacy', permission: 'write' })

    const del = await handler(
      loadV2Event('delete-v1-token', { authorization: `Bearer ${key}`, tokenId: body.tokenId }),
      lambdaContext(),
    )
    expect(del.statusCode).toBe(204)
    const err = await new Client({ token: body.token, baseUrl: gh.url })
      .repo('deploy-configs')
      .read('environments/staging.json')
      .catch((e: unknown) => e)
    expect((err as { connectCode?: string }).connectCode).toBe('unauthenticated')
    expect([...sm.calls].sort()).toEqual([KEYS_ARN, WORKSPACE_ARN].sort())
  })

  it('survives a workspace token rotation: refetches the secret once and retries', async () => {
    const admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
    const old = (await admin.listTokens({ pageSize: 1000 })).tokens.find((t) => t.name === 'broker-ws-1')
    expect(old).toBeDefined()
    sm.secrets.set(WORKSPACE_ARN, await gh.createToken({ name: 'broker-ws-2', kind: 'workspace', permission: 'write' }))
    await admin.revokeToken(old!.id)
    const before = sm.calls.filter((c) => c === WORKSPACE_ARN).length
    const res = await handler(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
    expect(res.statusCode).toBe(201)
    expect(sm.calls.filter((c) => c === WORKSPACE_ARN).length).toBe(before + 1)
  })

  it('answers bad input on the bundle with 4xx: plain text on /ci/token, problem+json on /v1', async () => {
    const ci = await handler(
      loadV2Event('post-ci-token-curl-form', { authorization: `Bearer ${key}`, body: '{"repo": "deploy-configs", "ttl": "-1h"}' }),
      lambdaContext(),
    )
    expect(ci.statusCode).toBe(400)
    expect(String(ci.body)).toMatch(/^error: ttl .* \(VALIDATION_FAILED, request .+\)\n$/)
    const v1 = await handler(
      loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}`, body: '{"repo":"deploy-configs","bogus":1}' }),
      lambdaContext(),
    )
    expect(v1.statusCode).toBe(400)
    expect(v1.headers?.['content-type']).toBe('application/problem+json')
    expect(JSON.parse(String(v1.body))).toMatchObject({ code: 'VALIDATION_FAILED', field: 'bogus' })
    const noAuth = await handler(loadV2Event('post-v1-tokens-json'), lambdaContext())
    expect(noAuth.statusCode).toBe(401)
  })

  it('reports a missing variable as a 500 problem naming it (fresh container)', async () => {
    delete process.env.WORKSPACE_TOKEN_SECRET_ARN
    try {
      const fresh = await bundles!.handler('token', '2')
      const res = await fresh(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
      expect(res.statusCode).toBe(500)
      const problem = JSON.parse(String(res.body)) as { code: string; detail: string }
      expect(problem.code).toBe('CONFIG_INVALID')
      expect(problem.detail).toContain('WORKSPACE_TOKEN_SECRET_ARN')
      expect(problem.detail).not.toContain('arn:aws')
    } finally {
      process.env.WORKSPACE_TOKEN_SECRET_ARN = WORKSPACE_ARN
    }
  })

  it('answers 503 when Secrets Manager is down (fresh container), without the ARN', async () => {
    sm.failWith = 'InternalServiceError'
    try {
      const fresh = await bundles!.handler('token', '3')
      const res = await fresh(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
      expect(res.statusCode).toBe(503)
      const problem = JSON.parse(String(res.body)) as { code: string; detail: string }
      expect(problem.detail).toContain('Secrets Manager')
      expect(problem.detail).not.toContain('arn:aws')
    } finally {
      sm.failWith = undefined
    }
  })
})
