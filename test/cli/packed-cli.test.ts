/**
 * The CLI as an application repo gets it: `npm pack` here, the tarball
 * installed (offline: it must need nothing else) into a fresh temp "app
 * repo", then `npx githosted-ci ...` run there against the local product
 * (`npm start` on ephemeral ports). Output is parsed in memory; the broker
 * key and tokens are never printed.
 */
import { type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findSecrets } from '../setup/secret-patterns.js'
import { startProduct, stopProduct, type StartedProduct } from '../helpers/local-product.js'
import { packAndInstall, runIn } from '../helpers/packed-cli.js'

let work: string
let app: string
let packedFiles: string[]
let child: ChildProcess
let s: StartedProduct

const cli = (args: string[], env: Record<string, string> = {}) =>
  runIn(app, 'npx', ['--offline', '--no-install', 'githosted-ci', ...args], { BROKER_KEY: s.brokerKey, ...env }, work)

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'packed-cli-'))
  ;({ app, files: packedFiles } = await packAndInstall(work))
  ;({ child, info: s } = await startProduct(join(work, 'data')))
}, 180_000)

afterAll(async () => {
  if (child) await stopProduct(child)
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the packed githosted-ci CLI in a fresh app repo', () => {
  it('ships the bundles, action.yml and the GitLab component, and the bundle imports only Node built-ins', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['action.yml', 'dist/cli/action.mjs', 'dist/cli/githosted-ci.mjs', 'dist/openapi.json', 'package.json', 'templates/deploy.yml']))
    expect(packedFiles.filter((f) => !/^(dist\/cli\/|dist\/openapi\.json$|templates\/|action\.yml$|package\.json$|README\.md$)/.test(f))).toEqual([])
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'githosted-ci-broker', 'package.json'), 'utf8')) as Record<string, unknown>
    expect(pkg.dependencies ?? {}).toEqual({})
    const bundle = readFileSync(join(app, 'node_modules', 'githosted-ci-broker', 'dist', 'cli', 'githosted-ci.mjs'), 'utf8')
    // `from` not inside a string literal: the bundle also holds the word as data (the promote command's "from" flag).
    const specifiers = [...bundle.matchAll(/(?:(?<!["'])\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!)
    expect(specifiers.length).toBeGreaterThan(0)
    expect(specifiers.filter((x) => !x.startsWith('node:'))).toEqual([])
  })

  it('mints a token: bare on stdout, or as JSON with --json; revokes it', async () => {
    const bare = await cli(['token', '--broker', s.broker, '--repo', 'deploy-configs'])
    expect(bare.code, bare.err).toBe(0)
    expect(bare.out.trim()).toMatch(/^gr_[A-Za-z0-9_-]+$/)

    const json = await cli(['token', '--broker', s.broker, '--repo', 'deploy-configs', '--permission', 'read', '--ttl', '15m', '--json'])
    expect(json.code, json.err).toBe(0)
    const minted = JSON.parse(json.out) as { tokenId: string; permission: string; repos: string[] }
    expect(minted).toMatchObject({ permission: 'read', repos: ['deploy-configs'] })

    const revoked = await cli(['revoke', '--broker', s.broker, '--token-id', minted.tokenId])
    expect(revoked.code, revoked.err).toBe(0)
    const again = await cli(['revoke', '--broker', s.broker, '--token-id', minted.tokenId])
    expect(again.code).toBe(1)
    expect(again.err).toContain(`${s.broker}/v1/tokens/${minted.tokenId}: HTTP 404 NOT_FOUND`)
  })

  it('deploys, replays nothing on a repeat, and shows it in status', async () => {
    const first = await cli(['deploy', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--image', 'ghcr.io/acme/app:3.0.0'])
    expect(first.code, first.err).toBe(0)
    expect(first.out.trim()).toMatch(/^deploy-configs\/staging: committed [0-9a-f]{12}$/)

    const repeat = await cli(['deploy', '--json', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--image', 'ghcr.io/acme/app:3.0.0'])
    expect(repeat.code, repeat.err).toBe(0)
    expect(JSON.parse(repeat.out)).toMatchObject({ changed: false, current: { '/image': 'ghcr.io/acme/app:3.0.0' } })

    const status = await cli(['status', '--broker', s.broker, '--repo', 'deploy-configs', '--json'])
    expect(status.code, status.err).toBe(0)
    const report = JSON.parse(status.out) as { environments: Array<{ environment: string; image: string }> }
    expect(report.environments.find((e) => e.environment === 'staging')?.image).toBe('ghcr.io/acme/app:3.0.0')
    const text = await cli(['status', '--broker', s.broker, '--repo', 'deploy-configs'])
    expect(text.out).toMatch(/^staging\tghcr\.io\/acme\/app:3\.0\.0\t[0-9a-f]{7,}\tkey:local$/m)
  })

  it('holds (a deploy is then refused with exit 1), releases, and rolls back', async () => {
    const held = await cli(['hold', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--reason', 'incident 42'])
    expect(held.code, held.err).toBe(0)
    expect(held.out).toContain('deploy-configs/staging: held')

    const refused = await cli(['deploy', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--image', 'ghcr.io/acme/app:3.1.0'])
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/held|hold/i)

    const released = await cli(['release', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--reason', 'resolved'])
    expect(released.code, released.err).toBe(0)
    expect(released.out).toContain('released')

    expect((await cli(['deploy', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--image', 'ghcr.io/acme/app:3.1.0'])).code).toBe(0)
    const back = await cli(['rollback', '--json', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging'])
    expect(back.code, back.err).toBe(0)
    expect(JSON.parse(back.out)).toMatchObject({ changed: true, current: { '/image': 'ghcr.io/acme/app:3.0.0' } })
  })

  it('--via direct writes from the job and records the CI project, not the key variable, as deployer', async () => {
    const direct = await cli(
      ['deploy', '--json', '--via', 'direct', '--githosted-url', s.githosted, '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'production', '--image', 'ghcr.io/acme/app:4.0.0'],
      { CI_PROJECT_PATH: 'acme/app' },
    )
    expect(direct.code, direct.err).toBe(0)
    const status = JSON.parse((await cli(['status', '--json', '--broker', s.broker, '--repo', 'deploy-configs'])).out) as {
      environments: Array<{ environment: string; lastCommit: { trailers: { requester?: string } | null } }>
    }
    const requester = status.environments.find((e) => e.environment === 'production')?.lastCommit.trailers?.requester
    expect(requester).toBe('gitlab:acme/app')
  })

  it('promotes along the seeded pipeline (dev → staging), records a check, and a gate refuses with exit 1 naming itself', async () => {
    const promoted = await cli(['promote', '--broker', s.broker, '--repo', 'deploy-configs', '--from', 'dev', '--to', 'staging', '--reason', 'ship 1.1.0'])
    expect(promoted.code, promoted.err).toBe(0)
    expect(promoted.out.trim()).toMatch(/^deploy-configs\/staging: promoted dev@[0-9a-f]{12} \(sha256:5e5e5e5e5e5e…\) \(commit [0-9a-f]{12}\)$/)
    const again = await cli(['promote', '--json', '--broker', s.broker, '--repo', 'deploy-configs', '--from', 'dev', '--to', 'staging'])
    expect(JSON.parse(again.out)).toMatchObject({ changed: false, current: { '/image': 'ghcr.io/acme/app:1.1.0', '/imageDigest': `sha256:${'5e'.repeat(32)}` } })

    const status = await cli(['status', '--broker', s.broker, '--repo', 'deploy-configs'])
    expect(status.out).toMatch(/^staging\tghcr\.io\/acme\/app:1\.1\.0\t[0-9a-f]{7,}\tkey:local\t\tfrom dev@[0-9a-f]{7,}$/m)

    const checked = await cli(['verify', '--broker', s.broker, '--repo', 'deploy-configs', '--environment', 'staging', '--check', 'smoke'])
    expect(checked.code, checked.err).toBe(0)
    expect(checked.out.trim()).toMatch(/^deploy-configs\/staging: smoke recorded for [0-9a-f]{12}$/)

    // local/policy.yaml wants a minute in staging before production.
    const early = await cli(['promote', '--broker', s.broker, '--repo', 'deploy-configs', '--from', 'staging', '--to', 'production'])
    expect(early.code).toBe(1)
    expect(early.err).toContain('PROMOTION_SOAK_PENDING')
  })

  it('exits 2 on usage errors, naming the problem, and never touches the network', async () => {
    const bare = await cli(['status', '--broker', 'broker.example.com', '--repo', 'x'])
    expect(bare.code).toBe(2)
    expect(bare.err).toContain('"broker.example.com" must start with https://')
    const unknown = await cli(['launch'])
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain('unknown command "launch"')
    const none = await cli(['deploy', '--broker', s.broker, '--repo', 'x', '--environment', 'staging'])
    expect(none.code).toBe(2)
    expect(none.err).toContain('exactly one of --image or --set')
  })

  it('tells DNS, refused, TLS and HTTP failures apart, each with the URL', async () => {
    const dns = await cli(['status', '--broker', 'https://broker.invalid', '--repo', 'x'])
    expect(dns.code).toBe(1)
    expect(dns.err).toContain('cannot resolve host broker.invalid (DNS lookup failed) for https://broker.invalid/v1/status?repo=x')

    const port = await freePort()
    const refused = await cli(['status', '--broker', `http://127.0.0.1:${port}`, '--repo', 'x'])
    expect(refused.code).toBe(1)
    expect(refused.err).toContain(`connection refused by 127.0.0.1:${port} for http://127.0.0.1:${port}/v1/status?repo=x`)

    const https = s.broker.replace('http://', 'https://')
    const tls = await cli(['status', '--broker', https, '--repo', 'x'])
    expect(tls.code).toBe(1)
    expect(tls.err).toContain(`TLS handshake with ${new URL(https).host} failed for ${https}/v1/status?repo=x`)

    const denied = await cli(['status', '--broker', s.broker, '--repo', 'x'], { BROKER_KEY: 'gbk_not-a-real-key-at-all-000000000000' })
    expect(denied.code).toBe(1)
    expect(denied.err).toMatch(new RegExp(`GET ${s.broker}/v1/status\\?repo=x: HTTP 401`))
    expect(findSecrets(denied.err + dns.err + refused.err + tls.err)).toEqual([])
  })
})
