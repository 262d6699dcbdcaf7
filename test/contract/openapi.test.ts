/**
 * The OpenAPI contract against real responses: the whole local broker
 * (token, deploy and status apps behind the shared route table) over HTTP,
 * with the local githosted server and OIDC issuer. Every route is called for
 * its success and its errors; each response's status, content type and body
 * must be what /openapi.json (as served) says, and any path or method the
 * document does not list must answer problem+json 404 or 405 with Allow.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeOpenApi } from '../../build/openapi.js'
import type { LocalBroker } from '../../local/broker.js'
import type { LocalOidcIssuer } from '../../local/oidc/index.js'
import { ensurePipeline } from '../../local/pipeline-seed.js'
import { startLocalBrokerWorld, type LocalBrokerWorld } from '../helpers/local-broker.js'
import type { ServedApp } from '../helpers/serve-app.js'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

let world: LocalBrokerWorld
let oidc: LocalOidcIssuer
let broker: LocalBroker
let served: ServedApp
let doc: Json
let ajv: Ajv2020
const DOC_ID = 'https://broker.invalid/openapi.json'
/** A schema from the document, with its local references made absolute. */
const resolved = (schema: Json): Json => (typeof schema.$ref === 'string' ? { $ref: DOC_ID + schema.$ref } : schema)

interface Seen {
  method: string
  path: string
  status: number
  type: string
  body: unknown
  allow: string | null
}
const seen: Seen[] = []

async function call(method: string, path: string, options: { auth?: string; body?: unknown; raw?: string; contentType?: string } = {}): Promise<Seen> {
  const headers: Record<string, string> = {}
  if (options.auth) headers.authorization = `Bearer ${options.auth}`
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = options.contentType ?? 'application/json'
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers,
    ...(options.raw !== undefined ? { body: options.raw } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  })
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  const text = await res.text()
  const body = type.endsWith('json') && text ? JSON.parse(text) : text
  const s = { method, path, status: res.status, type, body, allow: res.headers.get('allow') }
  seen.push(s)
  return s
}

/** The document's operation for a concrete path, matching `{param}` segments. */
function operationFor(method: string, path: string): Json | undefined {
  const pathname = path.split('?')[0]!
  for (const [template, item] of Object.entries(doc.paths as Json)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
    if (re.test(pathname)) return (item as Json)[method.toLowerCase()]
  }
  return undefined
}

function pathListed(path: string): boolean {
  const pathname = path.split('?')[0]!
  return Object.keys(doc.paths).some((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname))
}

function checkAgainstDocument(s: Seen): void {
  const where = `${s.method} ${s.path} -> ${s.status} ${s.type}`
  const op = operationFor(s.method, s.path)
  if (!op) {
    // Not in the document: only the fallbacks may answer, as problem+json.
    expect(s.status, where).toBe(pathListed(s.path) ? 405 : 404)
    if (s.status === 405) expect(s.allow, where).toMatch(/\b[A-Z]+\b/)
    // /ci/token speaks text to curl callers, even for its fallbacks.
    if (s.path.startsWith('/ci/token')) return void expect(s.type, where).toBe('text/plain')
    expect(s.type, where).toBe('application/problem+json')
    expect(ajv.validate(resolved({ $ref: '#/components/schemas/Problem' }), s.body), `${where}: ${ajv.errorsText()}`).toBe(true)
    return
  }
  const response = op.responses[String(s.status)] ?? op.responses.default
  expect(response, `${where}: status not in the document`).toBeDefined()
  if (!response.content) return void expect(s.body, where).toBe('')
  const media = response.content[s.type]
  expect(media, `${where}: content type not in the document (${Object.keys(response.content).join(', ')})`).toBeDefined()
  if (media.schema) expect(ajv.validate(resolved(media.schema), s.body), `${where}: ${ajv.errorsText()}`).toBe(true)
}

beforeAll(async () => {
  world = await startLocalBrokerWorld()
  ;({ oidc, broker, served } = world)
  const res = await fetch(`${served.url}/openapi.json`)
  expect(res.status).toBe(200)
  doc = (await res.json()) as Json
  ajv = new Ajv2020({ strict: false, allErrors: true })
  ;(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv)
  // References (#/components/schemas/X) resolve against the document as served.
  ajv.addSchema({ ...doc, $id: DOC_ID })
}, 60_000)

afterAll(async () => {
  await world?.close()
})

describe('OpenAPI 3.1 document', () => {
  it('is served at /openapi.json, built from the valibot schemas, and equals the build-time file', async () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Problem', 'MintedToken', 'DeployResult', 'StatusReport']))
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'))
    const file = writeOpenApi(join(dir, 'openapi.json'))
    const built = JSON.parse(readFileSync(file, 'utf8')) as Json
    rmSync(dir, { recursive: true, force: true })
    expect({ ...built, info: { ...built.info, version: 'x' } }).toEqual({ ...doc, info: { ...doc.info, version: 'x' } })
  })

  it('describes every route the functions serve (functions/routes.ts)', async () => {
    const { ROUTES } = await import('../../functions/routes.js')
    for (const r of ROUTES.filter((x) => x.path !== '/{proxy+}')) {
      const template = r.path.replace('/{proxy+}', '')
      expect(Object.keys(doc.paths).some((p) => p === template || p.startsWith(`${template}/`)), r.path).toBe(true)
    }
  })
})

describe('real responses validate against the document', () => {
  it('token endpoints: mint, explain, revoke, and their errors', async () => {
    const key = broker.brokerKey
    const minted = await call('POST', '/v1/tokens', { auth: key, body: { repo: 'deploy-configs', permission: 'read', ttl: '15m' } })
    expect(minted.status).toBe(201)
    await call('POST', '/v1/tokens?dryRun=true', { auth: key, body: { repo: 'deploy-configs', permission: 'write' } })
    await call('POST', '/v1/tokens', { auth: await oidc.mint('github'), body: { repo: 'deploy-configs', permission: 'write', ttl: '10m' } })
    await call('POST', '/v1/tokens', { auth: key, body: { repo: 'deploy-configs', permision: 'read' } })
    await call('POST', '/v1/tokens', { body: { repo: 'deploy-configs' } })
    await call('POST', '/v1/tokens', { auth: await oidc.mint('github', { claims: { repository: 'evil/app' } }), body: { repo: 'deploy-configs' } })
    await call('POST', '/v1/tokens', { auth: key, raw: '{not json' })
    const id = (minted.body as Json).tokenId as string
    expect((await call('DELETE', `/v1/tokens/${id}`, { auth: key })).status).toBe(204)
    expect((await call('DELETE', `/v1/tokens/${id}`, { auth: key })).status).toBe(404)
    await call('DELETE', '/v1/tokens/not!valid', { auth: key })
    expect((await call('POST', '/ci/token', { auth: key, raw: '{"repo": "deploy-configs", "ttl": "1h"}', contentType: 'application/x-www-form-urlencoded' })).status).toBe(200)
    expect((await call('POST', '/ci/token', { auth: 'gbk_wrong', raw: '{"repo": "deploy-configs"}' })).status).toBe(401)
    await call('GET', '/healthz')
  })

  it('deploy endpoints: deploy, dry run, rollback, hold, release, and their errors', async () => {
    const key = broker.brokerKey
    expect((await call('POST', '/v1/deploys', { auth: key, body: { repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:8.0.0' } })).status).toBe(200)
    await call('POST', '/v1/deploys', { auth: key, body: { repo: 'deploy-configs', environment: 'staging', set: { '/replicas': 3 }, dryRun: true } })
    await call('POST', '/v1/deploys', { auth: key, body: { repo: 'deploy-configs', environment: 'nope', image: 'x:1' } })
    await call('POST', '/v1/deploys', { auth: key, body: { repo: 'deploy-configs', environment: 'staging' } })
    expect((await call('POST', '/v1/deploys/rollback', { auth: key, body: { repo: 'deploy-configs', environment: 'staging' } })).status).toBe(200)
    expect((await call('POST', '/v1/deploys/hold', { auth: key, body: { repo: 'deploy-configs', environment: 'staging', reason: 'freeze' } })).status).toBe(200)
    expect((await call('POST', '/v1/deploys', { auth: await oidc.mint('github'), body: { repo: 'deploy-configs', environment: 'staging', image: 'x:2' } })).status).toBeGreaterThanOrEqual(400)
    expect((await call('DELETE', '/v1/deploys/hold?repo=deploy-configs&environment=staging&reason=done', { auth: key })).status).toBe(200)
    await call('DELETE', '/v1/deploys/hold?repo=deploy-configs', { auth: key })
    await call('POST', '/v1/deploys', { body: { repo: 'deploy-configs', environment: 'staging', image: 'x:1' } })
  })

  it('promotion endpoints: promote, verify, and their refusals', async () => {
    const key = broker.brokerKey
    await ensurePipeline(world.gh.url, world.gh.bootstrapToken)
    const promoted = await call('POST', '/v1/promotions', { auth: key, body: { repo: 'deploy-configs', from: 'dev', to: 'staging', reason: 'contract' } })
    expect(promoted.status).toBe(200)
    expect((await call('POST', '/v1/promotions', { auth: key, body: { repo: 'deploy-configs', from: 'dev', to: 'staging', dryRun: true } })).status).toBe(200)
    expect((await call('POST', '/v1/deploys/verify', { auth: key, body: { repo: 'deploy-configs', environment: 'staging', check: 'contract' } })).status).toBe(200)
    expect((await call('POST', '/v1/promotions', { auth: key, body: { repo: 'deploy-configs', from: 'staging', to: 'production' } })).status).toBe(409)
    expect((await call('POST', '/v1/promotions', { auth: key, body: { repo: 'deploy-configs', from: 'production', to: 'dev' } })).status).toBe(403)
    expect((await call('POST', '/v1/promotions', { auth: key, body: { repo: 'deploy-configs', from: 'dev' } })).status).toBe(400)
    expect((await call('POST', '/v1/deploys', { auth: key, body: { repo: 'deploy-configs', environment: 'dev', image: 'ghcr.io/acme/app:1.2.0', digest: `sha256:${'1'.repeat(64)}` } })).status).toBe(200)
    expect((await call('GET', '/v1/promotions')).status).toBe(405)
  })

  it('status endpoints and the dashboard', async () => {
    const key = broker.brokerKey
    expect((await call('GET', '/v1/status?repo=deploy-configs&history=3', { auth: key })).status).toBe(200)
    expect((await call('GET', '/v1/status/staging/history?repo=deploy-configs&limit=5', { auth: key })).status).toBe(200)
    await call('GET', '/v1/status?repo=other', { auth: key })
    await call('GET', '/v1/status?history=99', { auth: key })
    await call('GET', '/v1/status')
    await call('GET', '/')
  })

  it('unknown paths answer problem+json 404 and unserved methods 405 with Allow, in every function', async () => {
    expect((await call('GET', '/nope')).status).toBe(404)
    expect((await call('GET', '/v1/nope')).status).toBe(404)
    expect((await call('GET', '/v1/tokens/a/b')).status).toBe(404)
    expect((await call('POST', '/v1/deploys/nope', { body: {} })).status).toBe(404)
    const tokens = await call('PUT', '/v1/tokens')
    expect([tokens.status, tokens.allow]).toEqual([405, 'POST'])
    const deploys = await call('GET', '/v1/deploys')
    expect([deploys.status, deploys.allow]).toEqual([405, 'POST'])
    const hold = await call('PUT', '/v1/deploys/hold')
    expect(hold.status).toBe(405)
    expect(hold.allow!.split(', ').sort()).toEqual(['DELETE', 'POST'])
    const status = await call('DELETE', '/v1/status')
    expect(status.status).toBe(405)
    expect(status.allow).toMatch(/GET/)
    expect((await call('POST', '/openapi.json')).status).toBe(405)
    expect((await call('GET', '/ci/token')).status).toBe(405)
  })

  it('every response seen above matches the document', () => {
    expect(seen.length).toBeGreaterThan(35)
    for (const s of seen) checkAgainstDocument(s)
  })
})
