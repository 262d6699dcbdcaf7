/**
 * `npm start` end to end: the real entry point in a child process, then the
 * commands its banner tells a human to paste, over real HTTP. The child's
 * stdout carries a broker key and a viewer credential, so it is parsed in
 * memory and never printed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '../../functions/lib/githosted/index.js'
import { updateDeployConfig } from '../../scripts/update-deploy-config.js'
import { ROOT, startProduct, stopProduct, type StartedProduct } from '../helpers/local-product.js'
import { startTestGithosted, type TestGithosted } from '../helpers/githosted.js'

describe('npm start', () => {
  let dataDir: string
  let child: ChildProcess
  let s: StartedProduct

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'npm-start-'))
    ;({ child, info: s } = await startProduct(dataDir))
  })

  afterAll(async () => {
    if (child) await stopProduct(child)
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves the seed workflow call and the token works for the seed job script', async () => {
    // Exactly what `curl -s -X POST -H … -d '{…}'` sends: a form content type with a JSON body.
    const res = await fetch(`${s.broker}/ci/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.brokerKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"repo": "deploy-configs", "ttl": "1h"}',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const token = await res.text()
    expect(token).toMatch(/^gr_[A-Za-z0-9_-]+$/)

    const lines: string[] = []
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
    const env = { JOB_TOKEN: token, REPO_SLUG: 'deploy-configs', NEW_IMAGE_TAG: 'ghcr.io/acme/app:9.9.9', GITHOSTED_URL: s.githosted }
    expect(await updateDeployConfig(env, io)).toBe(0)

    const read = await new Client({ token, baseUrl: s.githosted }).repo('deploy-configs').read('environments/production.json')
    expect(JSON.parse(read.content).image).toBe('ghcr.io/acme/app:9.9.9')
  })

  it('deploys through /v1/deploys with the printed broker key', async () => {
    const res = await fetch(`${s.broker}/v1/deploys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.brokerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:1.2.0' }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { changed: boolean; current: Record<string, unknown> }
    expect(body.changed).toBe(true)
    expect(body.current['/image']).toBe('ghcr.io/acme/app:1.2.0')
  })

  it('mints through /v1/tokens with a local ID token of each CI flavour', async () => {
    for (const provider of ['github', 'gitlab', 'circleci', 'buildkite']) {
      const idToken = await (await fetch(`${s.broker}/_local/id-token?provider=${provider}`)).text()
      const res = await fetch(`${s.broker}/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${idToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'deploy-configs', permission: 'read', ttl: '15m' }),
      })
      expect(res.status, provider).toBe(201)
      const body = (await res.json()) as { permission: string; repos: string[]; rule: string }
      expect(body).toMatchObject({ permission: 'read', repos: ['deploy-configs'] })
      expect(body.rule).toContain(provider)
    }
  })

  it('prints a dashboard URL that opens as is, and status as JSON for the broker key', async () => {
    const page = await fetch(s.dashboard, { redirect: 'manual' })
    expect(page.status).toBe(303)
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!
    const html = await fetch(`${s.broker}/`, { headers: { cookie } })
    expect(html.status).toBe(200)
    expect(await html.text()).toContain('production')

    const status = await fetch(`${s.broker}/v1/status?repo=deploy-configs`, {
      headers: { authorization: `Bearer ${s.brokerKey}` },
    })
    expect(status.status).toBe(200)
    const body = (await status.json()) as { environments: Array<{ environment: string }> }
    expect(body.environments.map((e) => e.environment).sort()).toEqual(['dev', 'production', 'staging'])
  })

  it('answers a path with no route with 404, as API Gateway does', async () => {
    const res = await fetch(`${s.broker}/v1/nope`)
    expect(res.status).toBe(404)
  })

  it('keeps its repos across a restart and answers bad flags with usage and exit 2', async () => {
    await stopProduct(child)
    ;({ child, info: s } = await startProduct(dataDir))
    const status = await fetch(`${s.broker}/v1/status?repo=deploy-configs`, {
      headers: { authorization: `Bearer ${s.brokerKey}` },
    })
    const body = (await status.json()) as { environments: Array<{ environment: string; image: string }> }
    expect(body.environments.find((e) => e.environment === 'staging')?.image).toBe('ghcr.io/acme/app:1.2.0')

    const bad = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'start.ts'), '--port', 'abc'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    bad.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((ok) => bad.once('exit', ok))
    expect(code).toBe(2)
    expect(err).toContain('--port must be a port number')
  })
})

describe('npm start against an external githosted (--githosted-url, --workspace-token-file)', () => {
  let gh: TestGithosted
  let dataDir: string
  let child: ChildProcess | undefined

  beforeAll(async () => {
    // An HTTP/2-only, strict-schema server without DeleteFile: the least the broker must handle.
    gh = await startTestGithosted({ profile: 'minimal' })
    dataDir = mkdtempSync(join(tmpdir(), 'npm-start-ext-'))
  })
  afterAll(async () => {
    if (child) await stopProduct(child)
    await gh.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('starts no githosted of its own and deploys into the given one', async () => {
    const tokenFile = join(dataDir, 'token')
    writeFileSync(tokenFile, `${gh.bootstrapToken}\n`, { mode: 0o600 })
    let info: StartedProduct
    ;({ child, info } = await startProduct(join(dataDir, 'data'), ['--githosted-url', gh.url, '--workspace-token-file', tokenFile]))
    expect(info.githosted).toBe(gh.url)
    expect(existsSync(join(dataDir, 'data', 'githosted'))).toBe(false)
    const res = await fetch(`${info.broker}/v1/deploys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.brokerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'deploy-configs', environment: 'staging', image: 'ghcr.io/acme/app:ext' }),
    })
    expect(res.status).toBe(200)
    const { commit } = (await res.json()) as { commit: string }
    const [tip] = await new Client({ token: gh.bootstrapToken, baseUrl: gh.url }).repo('deploy-configs').log({ limit: 1 })
    expect(tip!.sha).toBe(commit)
  })

  it('answers a missing or unreadable token file with usage and exit 2', async () => {
    for (const [args, message] of [
      [['--githosted-url', gh.url], '--githosted-url needs --workspace-token-file'],
      [['--githosted-url', gh.url, '--workspace-token-file', join(dataDir, 'nope')], 'cannot read --workspace-token-file: ENOENT'],
      [['--githosted-url', 'ftp://x', '--workspace-token-file', join(dataDir, 'token')], 'must be http:// or https://'],
    ] as const) {
      const bad = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'start.ts'), '--port', '0', '--data', join(dataDir, 'bad'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      let err = ''
      bad.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      const code = await new Promise<number | null>((ok) => bad.once('exit', ok))
      expect(code).toBe(2)
      expect(err).toContain(message)
      expect(err).not.toContain(gh.bootstrapToken)
    }
  })
})
