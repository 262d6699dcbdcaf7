/**
 * The shipped token bundle in the mode the stack deploys it
 * (SECRETS_SOURCE=extension): secrets come from a local stand-in for the
 * Parameters and Secrets Lambda Extension, and the AWS SDK is never loaded.
 * Proof: the chunks holding the SDK are deleted from the built output before
 * the bundle is imported, so any import of them would fail the request; the
 * same bundle in the default (SDK) mode does fail on them, which shows the
 * deletion is noticed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFunction } from '../../../build/bundle.js'
import { generateBrokerKey, hashBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { loadV2Event } from '../../fixtures/apigw-v2/index.js'
import { lambdaContext } from '../../fixtures/lambda-context.js'
import { startFakeSecretsExtension, type FakeSecretsExtension } from '../../helpers/fake-secrets-extension.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import type { ApiGatewayHandler } from '../../helpers/lambda-bundle.js'
import { startTestState, type TestState } from '../../helpers/state-table.js'

const WORKSPACE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/workspace-token-ExTnSn'
const KEYS_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/broker-keys-ExTnSn'
const SDK_INPUT = /node_modules\/(@aws-sdk|@smithy)\//

interface Meta {
  outputs: Record<string, { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string }> }>
}

const outdir = mkdtempSync(join(tmpdir(), 'token-extension-bundle-'))
const key = generateBrokerKey()
const saved: Record<string, string | undefined> = {}
let gh: TestGithosted | undefined
let ext: FakeSecretsExtension | undefined
let state: TestState | undefined
let entryUrl: string
let sdkChunks: string[] = []
let entryStaticImports: string[] = []

function setEnv(vars: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(vars)) {
    if (!(name in saved)) saved[name] = process.env[name]
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
}

beforeAll(async () => {
  const built = await bundleFunction('token', { outdir })
  entryUrl = pathToFileURL(built.outfile).href
  const meta = JSON.parse(readFileSync(join(outdir, 'meta.json'), 'utf8')) as Meta
  // Output paths in the metafile are relative to the directory esbuild ran in.
  const abs = (p: string) => resolve(process.cwd(), p)
  for (const [file, out] of Object.entries(meta.outputs)) {
    if (Object.keys(out.inputs).some((i) => SDK_INPUT.test(i))) sdkChunks.push(abs(file))
    if (abs(file) === built.outfile) entryStaticImports = out.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path)
  }
  for (const chunk of sdkChunks) rmSync(chunk)

  gh = await startTestGithosted()
  state = await startTestState()
  ext = await startFakeSecretsExtension({
    [WORKSPACE_ARN]: await gh.createToken({ name: 'broker-ws-ext', kind: 'workspace', permission: 'write' }),
    [KEYS_ARN]: JSON.stringify({ keys: [{ name: 'ci-legacy', sha256: hashBrokerKey(key) }] }),
  })
  setEnv({
    SECRETS_SOURCE: 'extension',
    AWS_SESSION_TOKEN: ext.sessionToken,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(ext.port),
    WORKSPACE_TOKEN_SECRET_ARN: WORKSPACE_ARN,
    BROKER_KEYS_SECRET_ARN: KEYS_ARN,
    OIDC_AUDIENCE: 'githosted-ci-broker',
    GITHOSTED_URL: gh.url,
    // Nothing may reach a real or fake Secrets Manager endpoint.
    AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
    SECRET_CACHE_TTL_SECONDS: undefined,
    AWS_REGION: 'eu-west-1',
    // Lambda gives every function its role's credentials; the state table is signed with them.
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEFAKE00000',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key-for-local-tests',
    STATE_TABLE_NAME: state.tableName,
    STATE_TABLE_ENDPOINT: state.endpoint,
  })
})

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  await ext?.close()
  await gh?.close()
  await state?.close()
  rmSync(outdir, { recursive: true, force: true })
})

async function handlerFor(container: string): Promise<ApiGatewayHandler> {
  return ((await import(`${entryUrl}?container=${container}`)) as { handler: ApiGatewayHandler }).handler
}

describe('token Lambda bundle with SECRETS_SOURCE=extension', () => {
  it('ships the SDK only in lazy chunks, none of them imported statically by the entry', () => {
    expect(sdkChunks.length).toBeGreaterThan(0)
    const chunkNames = sdkChunks.map((c) => relative(outdir, c))
    for (const imported of entryStaticImports) {
      expect(chunkNames.some((c) => imported.endsWith(c)), imported).toBe(false)
    }
  })

  it('mints with both secrets read through the extension, with the SDK chunks deleted', async () => {
    const handler = await handlerFor('extension')
    const res = await handler(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
    expect(res.statusCode).toBe(201)
    expect(JSON.parse(String(res.body))).toMatchObject({ rule: 'ci-legacy' })
    expect([...ext!.calls].sort()).toEqual([KEYS_ARN, WORKSPACE_ARN].sort())
    expect(ext!.refused).toBe(0)
    // Served from the broker's cache: no second round trip.
    const again = await handler(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
    expect(again.statusCode).toBe(201)
    expect(ext!.calls).toHaveLength(2)
  })

  it('answers 503 when the extension fails, without the ARN', async () => {
    ext!.failWith = { status: 500, name: 'InternalServiceError' }
    try {
      const handler = await handlerFor('extension-down')
      const res = await handler(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
      expect(res.statusCode).toBe(503)
      expect(String(res.body)).not.toContain('arn:aws')
    } finally {
      ext!.failWith = undefined
    }
  })

  it('control: the same bundle in SDK mode needs the deleted chunks, so the request fails', async () => {
    setEnv({ SECRETS_SOURCE: undefined })
    try {
      const calls = ext!.calls.length
      const handler = await handlerFor('sdk')
      const res = await handler(loadV2Event('post-v1-tokens-json', { authorization: `Bearer ${key}` }), lambdaContext())
      // The failed chunk import surfaces as "broker keys could not be loaded" (503) or a 500.
      expect(res.statusCode).toBeGreaterThanOrEqual(500)
      expect(ext!.calls).toHaveLength(calls)
    } finally {
      setEnv({ SECRETS_SOURCE: 'extension' })
    }
  })
})
