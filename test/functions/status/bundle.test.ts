/**
 * The shipped artifact: builds the status Lambda bundle (the same esbuild
 * config as `npm run build`), imports it, and invokes `handler(event,
 * context)` with real API Gateway v2 events (test/fixtures/apigw-v2/status-*).
 * Secrets Manager is a local server speaking the real JSON protocol; githosted
 * is the local server.
 */
import { readFileSync } from 'node:fs'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateBrokerKey, hashBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { generateViewerCredential } from '../../../functions/lib/status/viewer-access.js'
import { lambdaContext } from '../../fixtures/lambda-context.js'
import type { FakeSecretsManager } from '../../helpers/fake-secrets-manager.js'
import { KEYS_ARN, startLambdaBundles, type ApiGatewayHandler, type LambdaBundles } from '../../helpers/lambda-bundle.js'

type Handler = ApiGatewayHandler

const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/dashboard-token-MnOpQr'
const VIEWER_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/viewer-credential-StUvWx'

type StatusFixture =
  | 'status-get-v1-status'
  | 'status-get-v1-status-history'
  | 'status-get-dashboard-login'
  | 'status-get-dashboard-session'

/** A fixture with `<filled-at-run-time>` placeholders replaced, in the order given. */
function loadEvent(name: StatusFixture, fill: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const event = JSON.parse(
    readFileSync(new URL(`../../fixtures/apigw-v2/${name}.json`, import.meta.url), 'utf8'),
  ) as APIGatewayProxyEventV2
  if (fill.authorization) event.headers.authorization = fill.authorization
  if (fill['if-none-match']) event.headers['if-none-match'] = fill['if-none-match']
  if (fill.key) {
    event.rawQueryString = `key=${encodeURIComponent(fill.key)}`
    event.queryStringParameters = { key: fill.key }
  }
  if (fill.cookie) event.cookies = event.cookies?.map((c) => c.replace('<filled-at-run-time>', fill.cookie!))
  return event
}

let bundles: LambdaBundles<'status'> | undefined
let sm: FakeSecretsManager
let handler: Handler
const brokerKey = generateBrokerKey()
const viewer = generateViewerCredential()

beforeAll(async () => {
  bundles = await startLambdaBundles({
    functions: ['status'],
    secrets: async (gh) => ({
      [TOKEN_ARN]: await gh.createToken({
        name: 'dashboard',
        kind: 'repo',
        permission: 'read',
        repoAllowlist: ['deploy-configs'],
      }),
      [KEYS_ARN]: JSON.stringify({ keys: [{ name: 'ci-legacy', sha256: hashBrokerKey(brokerKey) }] }),
      [VIEWER_ARN]: JSON.stringify({ sha256: viewer.sha256 }),
    }),
    env: (gh) => ({
      DASHBOARD_TOKEN_SECRET_ARN: TOKEN_ARN,
      BROKER_KEYS_SECRET_ARN: KEYS_ARN,
      VIEWER_CREDENTIAL_SECRET_ARN: VIEWER_ARN,
      OIDC_AUDIENCE: 'githosted-ci-broker',
      GITHOSTED_URL: gh.url,
    }),
    unset: ['STATUS_REPO', 'SECRET_CACHE_TTL_SECONDS'],
  })
  sm = bundles.sm
  handler = await bundles.handler('status')
})

afterAll(async () => {
  await bundles?.close()
})

describe('status Lambda bundle', () => {
  it('makes no Secrets Manager call at import', () => {
    expect(sm.calls).toEqual([])
  })

  it('serves GET /v1/status for a broker key, with ETag and a 304 on the same head', async () => {
    const event = loadEvent('status-get-v1-status', { authorization: `Bearer ${brokerKey}` })
    const res = await handler(event, lambdaContext({ functionName: 'githosted-ci-broker-status' }))
    expect(res.statusCode).toBe(200)
    const body = JSON.parse(String(res.body)) as { repo: string; environments: Array<{ environment: string; image: string }> }
    expect(body.repo).toBe('deploy-configs')
    expect(body.environments.map((e) => e.environment)).toEqual(['production', 'staging'])
    expect(body.environments.every((e) => e.image === 'ghcr.io/acme/app:1.0.0')).toBe(true)
    const etag = String(res.headers?.etag)
    expect(etag).toMatch(/^W\/"status\.h0-[0-9a-f]{40}"$/)

    const again = await handler(
      { ...event, headers: { ...event.headers, 'if-none-match': etag } },
      lambdaContext(),
    )
    expect(again.statusCode).toBe(304)
    // one fetch per secret per cache period: the token and the broker keys, once each
    expect(sm.calls.filter((c) => c === TOKEN_ARN)).toHaveLength(1)
    expect(sm.calls.filter((c) => c === KEYS_ARN)).toHaveLength(1)
  })

  it('serves the history route through the {proxy+} route, and refuses without a credential', async () => {
    const event = loadEvent('status-get-v1-status-history', { authorization: `Bearer ${brokerKey}` })
    delete event.headers['if-none-match']
    const res = await handler(event, lambdaContext())
    expect(res.statusCode).toBe(200)
    const body = JSON.parse(String(res.body)) as { deploys: Array<{ to: string }> }
    expect(body.deploys.map((d) => d.to)).toEqual(['ghcr.io/acme/app:1.0.0'])

    const anonymous = loadEvent('status-get-v1-status')
    delete anonymous.headers.authorization
    const denied = await handler(anonymous, lambdaContext())
    expect(denied.statusCode).toBe(401)
    expect(denied.headers?.['content-type']).toBe('application/problem+json')
  })

  it('logs a viewer in through ?key= (Secure cookie via the v2 cookies field) and renders the page', async () => {
    const login = await handler(loadEvent('status-get-dashboard-login', { key: viewer.credential }), lambdaContext())
    expect(login.statusCode).toBe(303)
    expect(login.headers?.location).toBe('./')
    const cookies = login.cookies ?? []
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatch(/^gcb_viewer=v1\.\d+\.[A-Za-z0-9_-]+; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/)
    expect(cookies[0]).not.toContain(viewer.credential)

    const session = cookies[0]!.split(';')[0]!.slice('gcb_viewer='.length)
    const page = await handler(loadEvent('status-get-dashboard-session', { cookie: session }), lambdaContext())
    expect(page.statusCode).toBe(200)
    expect(page.headers?.['content-type']).toMatch(/^text\/html/)
    expect(String(page.body)).toContain('<code class="image">ghcr.io/acme/app:1.0.0</code>')
    expect(page.headers?.['content-security-policy']).toContain("script-src 'nonce-")

    const noSession = await handler(loadEvent('status-get-dashboard-session', { cookie: 'v1.1.forged' }), lambdaContext())
    expect(noSession.statusCode).toBe(401)
  })

  it('reports a missing variable as a 500 problem naming it (fresh container), on the API and the page alike', async () => {
    delete process.env.DASHBOARD_TOKEN_SECRET_ARN
    try {
      const fresh = await bundles!.handler('status', '2')
      for (const event of [loadEvent('status-get-v1-status', { authorization: `Bearer ${brokerKey}` }), loadEvent('status-get-dashboard-login', { key: viewer.credential })]) {
        const res = await fresh(event, lambdaContext())
        expect(res.statusCode).toBe(500)
        expect(res.headers?.['content-type']).toBe('application/problem+json')
        const problem = JSON.parse(String(res.body)) as { code: string; detail: string }
        expect(problem.code).toBe('CONFIG_INVALID')
        expect(problem.detail).toContain('DASHBOARD_TOKEN_SECRET_ARN')
      }
    } finally {
      process.env.DASHBOARD_TOKEN_SECRET_ARN = TOKEN_ARN
    }
  })
})
