/**
 * The CI side: the seed job script (as a real process, as CI runs it) and the
 * ci-deploy CLI against the deploy app served over HTTP with the local
 * policy, the local OIDC issuer (GitHub Actions' token endpoint faked in
 * front of it) and the local githosted server.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { createLogger } from '../../functions/lib/observability/logger.js'
import { generateBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { parseDeployTrailers } from '../../functions/lib/deploys/trailers.js'
import { Client } from '../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../functions/lib/policy/index.js'
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../local/oidc/index.js'
import { ciDeploy } from '../../scripts/ci-deploy.js'
import { updateDeployConfig } from '../../scripts/update-deploy-config.js'
import { findSecrets } from '../setup/secret-patterns.js'
import { startTestGithosted, type TestGithosted } from '../helpers/githosted.js'
import { serveApp, type ServedApp } from '../helpers/serve-app.js'
import { createTestDeployApp } from '../helpers/deploy-app.js'

const run = promisify(execFile)

let gh: TestGithosted
let oidc: LocalOidcIssuer
let served: ServedApp
let actions: Server
let actionsUrl: string
let admin: Client
const brokerKey = generateBrokerKey()
const actionsRequestToken = 'actions-request-token-for-tests'

beforeAll(async () => {
  gh = await startTestGithosted()
  oidc = await startLocalOidcIssuer()
  admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  const policy = loadPolicy(parseYaml(readFileSync(new URL('../../local/policy.yaml', import.meta.url), 'utf8')), { issuerUrls: oidc.policyIssuerUrls })
  const logger = createLogger({ level: 'warn' })
  const app = createTestDeployApp({ gh, policy, logger, keys: { local: brokerKey }, oidc: { issuers: policy.issuers, audience: 'githosted-ci-broker' } })
  served = await serveApp(app.fetch)
  // GitHub Actions' ID token endpoint: checks its bearer and hands out a token for the asked audience.
  actions = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.headers.authorization !== `Bearer ${actionsRequestToken}`) return void res.writeHead(401).end()
    const value = await oidc.mint('github', { aud: url.searchParams.get('audience') ?? '' })
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value }))
  })
  await new Promise<void>((r) => actions.listen(0, '127.0.0.1', r))
  actionsUrl = `http://127.0.0.1:${(actions.address() as AddressInfo).port}/token?api-version=2.0`
})

afterAll(async () => {
  await served?.close()
  await new Promise((r) => actions?.close(r))
  await oidc?.close()
  await gh?.close()
})

const image = async (env: string) => JSON.parse((await admin.repo('deploy-configs').read(`environments/${env}.json`)).content).image

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err }
}

describe('scripts/update-deploy-config.ts (the seed job)', () => {
  it('runs as CI runs it: env in, one-line deploy out, exit 0', async () => {
    const jobToken = await gh.createToken({ name: 'job', kind: 'repo', permission: 'write', repoAllowlist: ['deploy-configs'], ttlSeconds: 600 })
    const { stdout, stderr } = await run('npx', ['tsx', 'scripts/update-deploy-config.ts'], {
      env: { ...process.env, JOB_TOKEN: jobToken, REPO_SLUG: 'deploy-configs', NEW_IMAGE_TAG: 'ghcr.io/acme/app:2.0.0', GITHOSTED_URL: gh.url },
    })
    expect(stdout).toMatch(/^Deployment config updated: environments\/production.json at [0-9a-f]{40}/)
    expect(findSecrets(stdout + stderr)).toEqual([])
    expect(await image('production')).toBe('ghcr.io/acme/app:2.0.0')
    const [latest] = await admin.repo('deploy-configs').log({ path: 'environments/production.json', limit: 1 })
    expect(parseDeployTrailers(latest!.message)).toMatchObject({ source: 'ci-job', changes: [{ pointer: '/image', current: 'ghcr.io/acme/app:2.0.0' }] })
  })

  it('exits non-zero with the error message on failure', async () => {
    const c = capture()
    expect(await updateDeployConfig({ REPO_SLUG: 'deploy-configs' }, c.io)).toBe(2)
    expect(c.err[0]).toMatch(/missing environment variable\(s\) JOB_TOKEN, NEW_IMAGE_TAG/)
    const readOnly = await gh.createToken({ name: 'ro', kind: 'repo', permission: 'read', repoAllowlist: ['deploy-configs'], ttlSeconds: 600 })
    const d = capture()
    const code = await updateDeployConfig({ JOB_TOKEN: readOnly, REPO_SLUG: 'deploy-configs', NEW_IMAGE_TAG: 'x:1', GITHOSTED_URL: gh.url }, d.io)
    expect(code).toBe(1)
    expect(d.err[0]).toMatch(/^CI job failed: .*permission/i)
    expect(findSecrets(d.err.join('\n'))).toEqual([])
  })
})

describe('scripts/ci-deploy.ts', () => {
  const args = ['--broker', '', '--repo', 'deploy-configs', '--environment', 'staging']
  const withBroker = (extra: string[]) => [...args.slice(0, 1), served.url, ...args.slice(2), ...extra]

  it('deploys with a broker key from $BROKER_KEY', async () => {
    const c = capture()
    const code = await ciDeploy(withBroker(['--image', 'ghcr.io/acme/app:3.0.0']), { BROKER_KEY: brokerKey }, c.io)
    expect(code, c.err.join('\n')).toBe(0)
    expect(JSON.parse(c.out[0]!)).toMatchObject({ changed: true, current: { '/image': 'ghcr.io/acme/app:3.0.0' } })
    expect(await image('staging')).toBe('ghcr.io/acme/app:3.0.0')
    expect(findSecrets([...c.out, ...c.err].join('\n'))).toEqual([])
  })

  it('detects GitHub Actions OIDC, and a retried run attempt replays instead of deploying twice', async () => {
    const env = {
      GITHUB_ACTIONS: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: actionsRequestToken,
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '4711',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_JOB: 'deploy',
    }
    const a = capture()
    expect(await ciDeploy(withBroker(['--set', '/replicas=4']), env, a.io), a.err.join('\n')).toBe(0)
    const first = JSON.parse(a.out[0]!)
    expect(first).toMatchObject({ changed: true, current: { '/replicas': 4 } })
    const [latest] = await admin.repo('deploy-configs').log({ path: 'environments/staging.json', limit: 1 })
    expect(parseDeployTrailers(latest!.message)?.requester).toMatch(/^github:|acme\/app/)
    const b = capture()
    expect(await ciDeploy(withBroker(['--set', '/replicas=4']), env, b.io)).toBe(0)
    expect(JSON.parse(b.out[0]!)).toMatchObject({ commit: first.commit, replayed: true })
  })

  it('uses a GitLab id_token named by --oidc-env, and reports errors from the broker', async () => {
    const c = capture()
    expect(await ciDeploy(withBroker(['--image', 'x:1', '--oidc-env', 'BROKER_ID_TOKEN']), {}, c.io)).toBe(1)
    expect(c.err[0]).toMatch(/--oidc-env BROKER_ID_TOKEN: the variable is empty or not set/)
    const token = await oidc.mint('gitlab', { claims: { project_path: 'acme/other' } })
    const d = capture()
    expect(await ciDeploy(withBroker(['--image', 'x:1', '--oidc-env', 'BROKER_ID_TOKEN']), { BROKER_ID_TOKEN: token }, d.io)).toBe(1)
    expect(d.err[0]).toMatch(/FORBIDDEN/)
    expect(findSecrets(d.err.join('\n'))).toEqual([])
  })

  it('rejects bad usage with exit code 2', async () => {
    const c = capture()
    expect(await ciDeploy(['--repo', 'x'], {}, c.io)).toBe(2)
    expect(await ciDeploy(withBroker([]), {}, c.io)).toBe(2)
    expect(c.err.join('\n')).toMatch(/--broker URL .* is required[\s\S]*exactly one of --image or --set/)
    expect(c.err.join('\n')).toContain('usage: npm run ci-deploy')
  })

  it('prints its usage for --help and exits 0 without touching the network', async () => {
    const c = capture()
    expect(await ciDeploy(['--help'], {}, c.io)).toBe(0)
    expect(c.out.join('\n')).toMatch(/^usage: npm run ci-deploy -- --broker URL/)
  })

  it('--via direct gets a scoped token from the broker and applies the change from the job', async () => {
    const c = capture()
    // Only the deploy endpoints are served here; the token endpoint answers 404, which must surface clearly.
    expect(await ciDeploy(withBroker(['--image', 'x:1', '--via', 'direct', '--githosted-url', gh.url]), { BROKER_KEY: brokerKey }, c.io)).toBe(1)
    expect(c.err[0]).toMatch(/No route for POST \/ci\/token|HTTP 404/)
  })
})
