/**
 * The shipped artifacts: builds the deploy and events Lambda bundles (the
 * same esbuild config as `npm run build`), imports them and invokes
 * `handler(event, context)` with real API Gateway v2 and EventBridge
 * fixtures. Secrets Manager is a local server speaking the real protocol
 * (the bundles carry their own AWS SDK); githosted is the local server.
 */
import { readFileSync } from 'node:fs'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { lambdaContext } from '../../fixtures/lambda-context.js'
import type { FakeSecretsManager } from '../../helpers/fake-secrets-manager.js'
import type { TestGithosted } from '../../helpers/githosted.js'
import {
  WORKSPACE_ARN,
  startLambdaBundles,
  workspaceAndBrokerKey,
  type ApiGatewayHandler,
  type LambdaBundles,
} from '../../helpers/lambda-bundle.js'

type HttpHandler = ApiGatewayHandler
type EventHandler = (event: unknown, context: Context) => Promise<{ status: string; targets: Array<{ outcome: string; commit?: string }> }>

let bundles: LambdaBundles<'deploy' | 'events'> | undefined
let gh: TestGithosted
let sm: FakeSecretsManager
let deploy: HttpHandler
let events: EventHandler
const key = generateBrokerKey()

const apigw = (name: string, authorization?: string, body?: string): APIGatewayProxyEventV2 => {
  const e = JSON.parse(readFileSync(new URL(`../../fixtures/apigw-v2/${name}.json`, import.meta.url), 'utf8')) as APIGatewayProxyEventV2
  if (authorization) e.headers.authorization = authorization
  else delete e.headers.authorization
  if (body !== undefined) {
    e.body = body
    e.headers['content-length'] = String(Buffer.byteLength(body))
  }
  return e
}
const eventFixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/eventbridge/${name}.json`, import.meta.url), 'utf8'))

beforeAll(async () => {
  bundles = await startLambdaBundles({ functions: ['deploy', 'events'], ...workspaceAndBrokerKey('broker-ws-deploy', key) })
  ;({ gh, sm } = bundles)
  deploy = await bundles.handler('deploy')
  events = await bundles.handler<EventHandler>('events')
})

afterAll(async () => {
  await bundles?.close()
})

describe('deploy Lambda bundle', () => {
  it('authenticates, then applies the compiled-in policy (config/policy.yaml gives ci-legacy no environments)', async () => {
    const ctx = lambdaContext({ functionName: 'githosted-ci-broker-deploy' })
    const noAuth = await deploy(apigw('deploy-post-v1-deploys'), ctx)
    expect(noAuth.statusCode).toBe(401)
    expect(noAuth.headers?.['content-type']).toContain('application/problem+json')
    const denied = await deploy(apigw('deploy-post-v1-deploys', `Bearer ${key}`), ctx)
    expect(denied.statusCode).toBe(403)
    expect(JSON.parse(denied.body!).detail).toMatch(/rule ci-legacy .*allows no deploys/)
    const bad = await deploy(apigw('deploy-post-v1-deploys', `Bearer ${key}`, '{"repo":"deploy-configs","environment":"../x","image":"a"}'), ctx)
    expect(bad.statusCode).toBe(400)
    const rollback = await deploy(apigw('deploy-post-v1-deploys-rollback', `Bearer ${key}`), ctx)
    expect(rollback.statusCode).toBe(403)
    // Nothing was written.
    const admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
    expect((await admin.repo('deploy-configs').log({ path: 'environments/staging.json', limit: 10 })).length).toBe(1)
  })
})

describe('events Lambda bundle', () => {
  it('deploys an ECR push once, drops a duplicate and rejects a malformed event', async () => {
    const ctx = lambdaContext({ functionName: 'githosted-ci-broker-events' })
    const first = await events(eventFixture('ecr-push-v1.4.2'), ctx)
    expect(first).toMatchObject({ status: 'processed', targets: [{ outcome: 'committed' }] })
    const admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
    const staging = JSON.parse((await admin.repo('deploy-configs').read('environments/staging.json')).content)
    expect(staging.image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/app:v1.4.2')
    expect(await events(eventFixture('ecr-push-v1.4.2'), ctx)).toMatchObject({ targets: [{ outcome: 'duplicate', commit: first.targets[0]!.commit }] })
    expect(await events(eventFixture('ecr-push-v1.4.1-older'), ctx)).toMatchObject({ targets: [{ outcome: 'skipped' }] })
    expect(await events(eventFixture('malformed-missing-detail'), ctx)).toMatchObject({ status: 'rejected' })
    expect(await events(eventFixture('ecr-push-unmapped'), ctx)).toMatchObject({ status: 'unmapped' })
    expect(await events(eventFixture('deploy-requested'), ctx)).toMatchObject({ targets: [{ outcome: 'committed' }] })
    // One Secrets Manager fetch for the container, whatever the number of events.
    expect(sm.calls.filter((c) => c === WORKSPACE_ARN)).toHaveLength(1)
  })
})
