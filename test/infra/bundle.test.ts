/**
 * One synth with real bundling, then each produced asset is loaded with plain
 * `node` of the major the stack pins (as the Lambda runtime does; fetched by
 * test/helpers/lambda-node.ts when this machine runs another) and invoked with
 * a real event shape: the deployed artifact is what is tested, on the Node it
 * ships to. Nothing here reaches AWS: the state
 * table every function uses (limits before authentication included) is a
 * local dynalite, reached through the template's STATE_TABLE_NAME with only
 * the endpoint overridden, and there are no real credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { bundleFunction, ESM_REQUIRE_BANNER } from '../../build/bundle.js'
import { assetMetafilePath } from '../../infra/bundling.js'
import { createApp, PROJECT_ROOT } from '../../infra/main.js'
import { cdkJsonContext, synth, type Synthesized } from './synth.js'
import { ensureStateTable, startDynalite, type LocalDynamo } from '../../local/state.js'
import { LAMBDA_NODE_MAJOR, lambdaNode } from '../helpers/lambda-node.js'

const run = promisify(execFile)
let dynamo: LocalDynamo | undefined
let node = process.execPath
const here = new URL('.', import.meta.url).pathname
const fixtures = new URL('../fixtures/', import.meta.url).pathname
const FUNCTIONS = ['Token', 'Deploy', 'Status', 'Events'] as const
type Fn = (typeof FUNCTIONS)[number]

interface Asset {
  dir: string
  env: Record<string, string>
}

/** Template env with every CloudFormation reference replaced by a plausible literal. */
function literalEnv(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([k, v]) => {
      if (typeof v === 'string') return [k, v]
      const ref = JSON.stringify(v).replace(/\W/g, '').slice(0, 40)
      const literal = k.endsWith('_SECRET_ARN')
        ? `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${ref}-AbC123`
        : `infra-test-${ref}`
      return [k, literal]
    }),
  )
}

async function invoke(asset: Asset, event: unknown, fn: Fn): Promise<{ result: any; node: string; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'broker-invoke-'))
  try {
    const eventFile = join(dir, 'event.json')
    const resultFile = join(dir, 'result.json')
    writeFileSync(eventFile, JSON.stringify(event))
    // A clean environment: no AWS credentials, no instance metadata, so any attempt
    // to reach AWS fails fast instead of quietly succeeding from a developer machine.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-west-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: `infra-test-${fn.toLowerCase()}`,
      ...asset.env,
      // Lambda's role credentials stand-in: dynalite checks that requests are signed, not by whom.
      AWS_ACCESS_KEY_ID: 'AKIAINFRATESTFAKE000',
      AWS_SECRET_ACCESS_KEY: 'infra-test-fake-secret',
      ...(dynamo ? { STATE_TABLE_ENDPOINT: dynamo.endpoint } : {}),
      // The handlers open their githosted connection at INIT: point it at a closed loopback
      // port so a test run never reaches the real githosted from a machine that has network.
      ...(asset.env.GITHOSTED_URL !== undefined ? { GITHOSTED_URL: 'http://127.0.0.1:9' } : {}),
    }
    if (asset.env.STATE_TABLE_NAME && dynamo) await ensureStateTable(dynamo.endpoint, asset.env.STATE_TABLE_NAME)
    const { stdout } = await run(node, [join(here, 'invoke-asset.mjs'), asset.dir, eventFile, resultFile], {
      env,
      cwd: dir,
      timeout: 60_000,
    })
    return { ...JSON.parse(readFileSync(resultFile, 'utf8')), stdout }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function loadJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'))
}

describe('bundled Lambda assets', () => {
  let s: Synthesized
  const assets = {} as Record<Fn, Asset>

  beforeAll(async () => {
    node = lambdaNode()
    dynamo = await startDynalite()
    s = synth({}, { bundle: true })
    const manifest = loadJson(join(s.outdir, `${s.stack.artifactId}.assets.json`))
    const functions = s.template.findResources('AWS::Lambda::Function')
    for (const name of FUNCTIONS) {
      const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(`${name}Function`))!
      const key: string = (fn as any).Properties.Code.S3Key
      const source = manifest.files[key.replace(/\.zip$/, '')].source
      expect(source.packaging).toBe('zip')
      assets[name] = { dir: join(s.outdir, source.path), env: literalEnv((fn as any).Properties.Environment.Variables) }
    }
  }, 600_000)
  afterAll(async () => {
    s?.cleanup()
    await dynamo?.close()
  })

  it('builds four distinct ESM bundles with the require banner, the metafile outside the asset, the AWS SDK from the runtime lazily', () => {
    const dirs = new Set(FUNCTIONS.map((f) => assets[f].dir))
    expect(dirs.size).toBe(4)
    for (const name of FUNCTIONS) {
      const { dir } = assets[name]
      // index.mjs is what module init loads; lazily imported code sits in chunks/.
      const files = readdirSync(dir).sort()
      // Nothing machine-specific in the asset: the metafile (checkout paths) is kept under dist/.
      expect(files.filter((f) => f !== 'chunks'), name).toEqual(['index.mjs'])
      const chunkFiles = files.includes('chunks') ? readdirSync(join(dir, 'chunks')) : []
      const chunks = chunkFiles.map((f) => readFileSync(join(dir, 'chunks', f), 'utf8'))
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8')
      expect(code.startsWith(ESM_REQUIRE_BANNER), name).toBe(true)
      // The AWS SDK comes from the Lambda runtime (infra/bundling.ts), and only lazily: neither
      // the entry nor a chunk it imports statically (what INIT loads) may import it statically.
      const initChunks = [...code.matchAll(/from\s*"\.\/chunks\/([^"]+)"/g)].map((m) => m[1]!)
      for (const c of [code, ...initChunks.map((f) => chunks[chunkFiles.indexOf(f)] ?? '')]) {
        expect(c, name).not.toMatch(/from\s*"@aws-sdk\//)
      }
      expect([code, ...chunks].join('\n'), name).toMatch(/import\("@aws-sdk\/client-secrets-manager"\)/)
      const meta = loadJson(assetMetafilePath(PROJECT_ROOT, name.toLowerCase(), 'config')) as { inputs: Record<string, unknown> }
      expect(Object.keys(meta.inputs).some((p) => p.includes('node_modules/@aws-sdk/')), name).toBe(false)
      expect(Object.keys(meta.inputs).some((p) => p.endsWith(`functions/${name.toLowerCase()}/handler.ts`)), name).toBe(true)
    }
    // The policy is compiled in as data by the yaml plugin, not parsed at run time.
    for (const name of ['Token', 'Status'] as const) {
      const meta = loadJson(assetMetafilePath(PROJECT_ROOT, name.toLowerCase(), 'config'))
      expect(Object.keys(meta.inputs).some((p) => p.endsWith('config/policy.yaml')), name).toBe(true)
      expect(Object.keys(meta.inputs).some((p) => p.includes('node_modules/yaml/')), name).toBe(false)
    }
  })

  it('token: answers GET /healthz, on the Node major of the runtime the stack pins', async () => {
    const runtimes = new Set(Object.values(s.template.findResources('AWS::Lambda::Function')).map((f: any) => f.Properties.Runtime))
    expect([...runtimes]).toEqual([`nodejs${LAMBDA_NODE_MAJOR}.x`])
    const event = loadJson(join(fixtures, 'apigw-v2', 'get-healthz.json'))
    const { result, node: version } = await invoke(assets.Token, event, 'Token')
    expect(result.statusCode).toBe(200)
    expect(version).toMatch(new RegExp(`^v${LAMBDA_NODE_MAJOR}\\.`))
  })

  it('deploy: rejects an unauthenticated POST /v1/deploys with a 401 problem', async () => {
    const event = loadJson(join(here, 'fixtures', 'deploy-post-unauthenticated.json'))
    const { result } = await invoke(assets.Deploy, event, 'Deploy')
    expect(result.statusCode).toBe(401)
    expect(result.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('status: rejects an unauthenticated GET /v1/status with a 401', async () => {
    const event = loadJson(join(fixtures, 'apigw-v2', 'status-get-v1-status.json'))
    delete event.headers.authorization
    const { result } = await invoke(assets.Status, event, 'Status')
    expect(result.statusCode).toBe(401)
  })

  it('events: logs and drops a push of an unmapped ECR repository, without the network', async () => {
    const event = loadJson(join(here, 'fixtures', 'ecr-push-unmapped.json'))
    const { result, stdout } = await invoke(assets.Events, event, 'Events')
    expect(result).toMatchObject({ eventId: event.id, status: 'unmapped', targets: [] })
    const lines = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    const dropped = lines.find((l) => l.eventId === event.id)
    expect(dropped?.reason, stdout).toContain('infra-test-unmapped-repository')
  })

  it('gives identical asset hashes when the same commit is synthesized from another folder', () => {
    const copy = mkdtempSync(join(tmpdir(), 'broker-checkout-elsewhere-'))
    try {
      for (const dir of ['functions', 'config', 'build']) cpSync(join(PROJECT_ROOT, dir), join(copy, dir), { recursive: true })
      for (const file of ['package.json', 'tsconfig.json']) cpSync(join(PROJECT_ROOT, file), join(copy, file))
      symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir')
      const outdir = join(copy, 'cdk.out')
      const other = createApp({ outdir, context: cdkJsonContext() }, copy)
      other.app.synth()
      const keys = (template: Record<string, any>) =>
        Object.entries(template.Resources as Record<string, any>)
          .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
          .map(([id, r]) => `${id}=${r.Properties.Code.S3Key}`)
          .sort()
      const here = keys(s.template.toJSON())
      expect(here).toHaveLength(4)
      expect(keys(loadJson(join(outdir, other.stack.templateFile)))).toEqual(here)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  }, 600_000)
})

describe('per-stage config in the bundle', () => {
  it('bundles config/stages/<stage>/deploy-mapping.json in place of config/\'s, and config/\'s other files', async () => {
    const stageDir = mkdtempSync(join(tmpdir(), 'broker-stage-config-'))
    try {
      mkdirSync(stageDir, { recursive: true })
      const mapping = {
        ecr: [{ ecrRepository: 'qa-only/service', repo: 'deploy-configs', environments: ['qa'], imageFormat: '{registry}/{repository}:{tag}' }],
        deployRequests: [],
      }
      writeFileSync(join(stageDir, 'deploy-mapping.json'), JSON.stringify(mapping))
      const outdir = join(stageDir, 'out')
      await bundleFunction('events', { outdir, configDir: stageDir, metafilePath: false })
      const code = readFileSync(join(outdir, 'index.mjs'), 'utf8')
      expect(code).toContain('qa-only/service')
      expect(code).not.toContain('acme/app')
      expect(readdirSync(outdir)).not.toContain('meta.json')
      await bundleFunction('token', { outdir: join(stageDir, 'token'), configDir: stageDir, metafilePath: false })
      // No policy.yaml in the stage directory: the shared one is compiled in.
      expect(readFileSync(join(stageDir, 'token', 'index.mjs'), 'utf8')).toContain('app-production')
    } finally {
      rmSync(stageDir, { recursive: true, force: true })
    }
  }, 120_000)
})
