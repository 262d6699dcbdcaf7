/**
 * The GitHub Action as the runner runs it: the bundled entry (action.yml
 * runs.main / runs.post) in a child process with the environment GitHub
 * sets (INPUT_*, GITHUB_OUTPUT, GITHUB_STATE, ACTIONS_ID_TOKEN_REQUEST_*),
 * the local OIDC issuer serving GitHub's token-request endpoint, and the
 * local broker and githosted server over real HTTP.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { Client } from '../../functions/lib/githosted/index.js'
import { bundleCli } from '../../build/cli.js'
import type { LocalOidcIssuer } from '../../local/oidc/index.js'
import type { TestGithosted } from '../helpers/githosted.js'
import { startLocalBrokerWorld, type LocalBrokerWorld } from '../helpers/local-broker.js'
import type { ServedApp } from '../helpers/serve-app.js'

const root = resolve(import.meta.dirname, '..', '..')
let work: string
let entry: string
let gh: TestGithosted
let oidc: LocalOidcIssuer
let served: ServedApp
let world: LocalBrokerWorld

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'action-'))
  entry = (await bundleCli(join(work, 'dist'))).action
  world = await startLocalBrokerWorld()
  ;({ gh, oidc, served } = world)
}, 60_000)

afterAll(async () => {
  await world?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** The runner's file-command format: `name<<DELIM\nvalue\nDELIM`. */
function readFileCommands(file: string): Record<string, string> {
  const text = readFileSync(file, 'utf8')
  const out: Record<string, string> = {}
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!
  return out
}

interface Step {
  code: number
  lines: string[]
  outputs: Record<string, string>
  state: Record<string, string>
}

let stepNo = 0
/** One step: fresh GITHUB_OUTPUT/GITHUB_STATE files, inputs as INPUT_<NAME>, state from a previous step as STATE_<name>. */
function runStep(inputs: Record<string, string>, extra: Record<string, string> = {}): Promise<Step> {
  stepNo += 1
  const outputFile = join(work, `output-${stepNo}`)
  const stateFile = join(work, `state-${stepNo}`)
  writeFileSync(outputFile, '')
  writeFileSync(stateFile, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: String(1000 + stepNo),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'deploy',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STATE: stateFile,
    ACTIONS_ID_TOKEN_REQUEST_URL: oidc.actionsIdTokenRequest.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.actionsIdTokenRequest.token,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...extra,
  }
  return new Promise((ok) => {
    execFile(process.execPath, [entry], { env, timeout: 60_000 }, (err, stdout) => {
      ok({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        lines: stdout.split('\n').filter(Boolean),
        outputs: readFileCommands(outputFile),
        state: readFileCommands(stateFile),
      })
    })
  })
}

describe('the GitHub Action (action.yml on the bundled entry)', () => {
  it('declares the inputs and outputs it reads and writes, on node24 with a post step', () => {
    const spec = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, unknown>
      outputs: Record<string, unknown>
      runs: Record<string, string>
    }
    expect(Object.keys(spec.inputs)).toEqual(expect.arrayContaining(['broker-url', 'audience', 'repo', 'permission', 'ttl', 'environment', 'image', 'set', 'reason']))
    expect(Object.keys(spec.inputs)).toEqual(expect.arrayContaining(['promote-from', 'allow-tag-only']))
    expect(Object.keys(spec.outputs).sort()).toEqual(['changed', 'commit', 'promoted-from', 'token', 'token-id'])
    expect(spec.runs).toMatchObject({ using: 'node24', main: 'dist/cli/action.mjs', post: 'dist/cli/action.mjs' })
  })

  it('runs the committed bundle, which is what a fresh build of cli/ makes (else: commit the rebuilt dist/cli/action.mjs)', async () => {
    // Workflows run action.yml straight from a commit: the bundle in the commit must be current.
    const committed = execFileSync('git', ['show', 'HEAD:dist/cli/action.mjs'], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
    expect(readFileSync(entry).equals(committed), 'dist/cli/action.mjs in HEAD is stale: run npm run build and commit it').toBe(true)
  })

  it('mints a token with its own OIDC request, masks it before anything else, writes the outputs, and the post step revokes it', async () => {
    const inputs = { 'broker-url': served.url, repo: 'deploy-configs', permission: 'write', ttl: '15m', audience: 'githosted-ci-broker' }
    const main = await runStep(inputs)
    expect(main.code, main.lines.join('\n')).toBe(0)
    const token = main.outputs.token!
    expect(token).toMatch(/^gr_[A-Za-z0-9_-]+$/)
    expect(main.outputs['token-id']).toMatch(/\S/)
    // Nothing but masks comes before the token's own mask, and the token appears nowhere else in the log.
    const maskAt = main.lines.indexOf(`::add-mask::${token}`)
    expect(maskAt).toBeGreaterThanOrEqual(0)
    expect(main.lines.slice(0, maskAt).every((l) => l.startsWith('::add-mask::'))).toBe(true)
    expect(main.lines.filter((l) => l.includes(token))).toHaveLength(1)
    expect(main.state).toMatchObject({ isPost: 'true', 'token-id': main.outputs['token-id'] })

    // The token works against githosted until the post step.
    const repo = new Client({ token, baseUrl: gh.url }).repo('deploy-configs')
    await expect(repo.read('environments/staging.json')).resolves.toBeDefined()

    const post = await runStep(inputs, { STATE_isPost: 'true', 'STATE_token-id': main.outputs['token-id']! })
    expect(post.code).toBe(0)
    expect(post.lines).toContain(`Revoked token ${main.outputs['token-id']}.`)
    await expect(repo.read('environments/staging.json')).rejects.toThrow()
  })

  it('deploys an image through the broker and reports commit and changed', async () => {
    const inputs = { 'broker-url': served.url, repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:7.0.0', reason: 'release 7' }
    const first = await runStep(inputs)
    expect(first.code, first.lines.join('\n')).toBe(0)
    expect(first.outputs).toMatchObject({ changed: 'true' })
    expect(first.outputs.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(first.outputs.token).toBeUndefined()
    const file = await new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs').read('environments/staging.json')
    expect(JSON.parse(file.content).image).toBe('ghcr.io/acme/app:7.0.0')

    const again = await runStep(inputs)
    expect(again.outputs).toMatchObject({ changed: 'false', commit: first.outputs.commit })
    // No token was minted, so the post step has nothing to revoke.
    const post = await runStep(inputs, { STATE_isPost: 'true' })
    expect(post).toMatchObject({ code: 0, lines: [] })
  })

  it('sets keys from the multi-line set input', async () => {
    const r = await runStep({ 'broker-url': served.url, repo: 'deploy-configs', environment: 'staging', set: '/replicas=4\n/env/LOG_LEVEL="debug"' })
    expect(r.code, r.lines.join('\n')).toBe(0)
    const file = await new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs').read('environments/staging.json')
    expect(JSON.parse(file.content)).toMatchObject({ replicas: 4, env: { LOG_LEVEL: 'debug' } })
  })

  it('promotes staging into production with promote-from; a tag-only source needs allow-tag-only', async () => {
    const inputs = { 'broker-url': served.url, repo: 'deploy-configs', environment: 'production', 'promote-from': 'staging' }
    const refused = await runStep(inputs)
    expect(refused.code).toBe(1)
    expect(refused.lines.at(-1)).toMatch(/^::error::POST http:\/\/127\.0\.0\.1:\d+\/v1\/promotions: HTTP 409 PROMOTION_DIGEST_MISSING/)

    const r = await runStep({ ...inputs, 'allow-tag-only': 'true' })
    expect(r.code, r.lines.join('\n')).toBe(0)
    expect(r.outputs).toMatchObject({ changed: 'true' })
    expect(r.outputs['promoted-from']).toMatch(/^staging@[0-9a-f]{40}$/)
    const admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs')
    const [staging, production] = await Promise.all(['staging', 'production'].map(async (e) => JSON.parse((await admin.read(`environments/${e}.json`)).content)))
    expect(production.image).toBe(staging.image)
    expect(r.lines).toContain(`deploy-configs/production: promoted ${r.outputs['promoted-from']!.slice(0, 20)} as ${r.outputs.commit!.slice(0, 12)}`)
  })

  it('fails the step with ::error:: naming the cause, and leaks no credential', async () => {
    const denied = await runStep({ 'broker-url': served.url, repo: 'other-repo', permission: 'read' })
    expect(denied.code).toBe(1)
    expect(denied.lines.at(-1)).toMatch(/^::error::POST http:\/\/127\.0\.0\.1:\d+\/v1\/tokens: HTTP 403 FORBIDDEN/)

    const noOidc = await runStep({ 'broker-url': served.url, repo: 'deploy-configs' }, { ACTIONS_ID_TOKEN_REQUEST_URL: '' })
    expect(noOidc.code).toBe(1)
    expect(noOidc.lines.at(-1)).toContain('id-token: write')

    const bare = await runStep({ 'broker-url': 'broker.example.com', repo: 'deploy-configs' })
    expect(bare.lines.at(-1)).toContain('must start with https://')
    const missing = await runStep({ repo: 'deploy-configs' })
    expect(missing.lines.at(-1)).toBe('::error::Input required and not supplied: broker-url')
    const leaks = [...denied.lines, ...noOidc.lines].filter((l) => !l.startsWith('::add-mask::') && /gr_|eyJ/.test(l))
    expect(leaks).toEqual([])
  })
})
