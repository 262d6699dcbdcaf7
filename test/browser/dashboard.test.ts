/**
 * The dashboard in a real browser: playwright-core driving Debian's Chromium
 * (headless; `.ci/run` installs the `chromium` package, CHROMIUM_PATH
 * overrides the binary). The status app runs over real HTTP against the local
 * githosted with a read-only token. Screenshots land in test-artifacts/
 * (gitignored) for a human to look at.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDeployApp } from '../../functions/deploy/app.js'
import { createLogger } from '../../functions/lib/observability/logger.js'
import { createAuthenticator } from '../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../functions/lib/auth/replay.js'
import { applyConfigUpdate } from '../../functions/lib/deploys/apply.js'
import { createScopedRepoProvider } from '../../functions/lib/deploys/scoped-repo.js'
import { Client } from '../../functions/lib/githosted/index.js'
import { loadPolicy } from '../../functions/lib/policy/index.js'
import { staticSecret } from '../../functions/lib/secrets/index.js'
import { createViewerAccess, generateViewerCredential } from '../../functions/lib/status/viewer-access.js'
import { createStatusApp } from '../../functions/status/app.js'
import { readClientFactory } from '../../functions/status/deps.js'
import { startTestGithosted, type TestGithosted } from '../helpers/githosted.js'
import { serveApp, type ServedApp } from '../helpers/serve-app.js'
import { launchChromium } from './chromium.js'

const ARTIFACTS = join(process.cwd(), 'test-artifacts')
const REPO = 'deploy-configs'

let gh: TestGithosted
let served: ServedApp
let deployApi: ServedApp
let browser: Browser
let writer: Client
const viewer = generateViewerCredential()
const brokerKey = generateBrokerKey()

/** A deploy through the broker's API (POST /v1/deploys), as a CI job would make it. */
async function deploy(environment: string, image: string) {
  const res = await fetch(`${deployApi.url}/v1/deploys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${brokerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: REPO, environment, image }),
  })
  expect(res.status, await res.clone().text()).toBeLessThan(300)
}

function card(page: Page, environment: string) {
  return page.getByRole('article', { name: environment, exact: true })
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  gh = await startTestGithosted()
  writer = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  const readToken = await gh.createToken({ kind: 'repo', permission: 'read', repoAllowlist: [REPO], name: 'dashboard' })
  const githosted = readClientFactory(gh.url)
  const authenticator = createAuthenticator({
    brokerKeys: () => [{ name: 'browser-test', sha256: hashBrokerKey(brokerKey) }],
    replayStore: new MemoryReplayStore(),
  })
  const policy = loadPolicy({
    version: 1,
    rules: [
      {
        name: 'browser-test',
        match: { brokerKey: 'browser-test' },
        grant: { repos: [REPO], permission: 'write', maxTtl: '15m', environments: ['staging', 'production'], promote: [{ from: 'staging', to: 'preprod' }] },
      },
    ],
  })
  const deployApp = createDeployApp({
    authenticator,
    policy,
    repos: createScopedRepoProvider({ workspaceToken: staticSecret(gh.bootstrapToken), githosted }),
    logger: createLogger({ sink: () => {} }),
  })
  deployApi = await serveApp(deployApp.fetch as (r: Request) => Response | Promise<Response>)
  const app = createStatusApp({
    readToken: staticSecret(readToken),
    githosted,
    authenticator,
    viewer: createViewerAccess({ hash: staticSecret(viewer.sha256) }),
    logger: createLogger({ sink: () => {} }),
    refreshSeconds: 1,
    commitUrlTemplate: 'https://githosted.example/acme/{repo}/commit/{sha}',
  })
  served = await serveApp(app.fetch)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  await deployApi?.close()
  await gh?.close()
})

describe('dashboard in Chromium', () => {
  it('refuses a browser without the viewer credential, with an explanation', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const res = await page.goto(`${served.url}/`)
    expect(res?.status()).toBe(401)
    await expect(page.getByRole('heading', { name: 'Viewer credential needed' }).isVisible()).resolves.toBe(true)
    await context.close()
  })

  it('shows every environment, picks up a deploy without reloading, and survives a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => {
      // Any console error counts: a CSP violation, a failed request (even a favicon), a script error.
      if (m.type() === 'error') consoleErrors.push(m.text())
    })

    await page.goto(`${served.url}/?key=${encodeURIComponent(viewer.credential)}`)
    // The credential left the address bar.
    expect(new URL(page.url()).search).toBe('')
    for (const environment of ['staging', 'production']) {
      await expect(card(page, environment).locator('code.image').textContent()).resolves.toBe('ghcr.io/acme/app:1.0.0')
    }

    // A marker that a full reload would wipe.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42))
    await deploy('staging', 'ghcr.io/acme/app:1.1.0')
    await card(page, 'staging').locator('code.image', { hasText: 'ghcr.io/acme/app:1.1.0' }).waitFor({ timeout: 20_000 })
    await expect(page.evaluate(() => (window as unknown as { marker?: number }).marker)).resolves.toBe(42)
    await expect(card(page, 'production').locator('code.image').textContent()).resolves.toBe('ghcr.io/acme/app:1.0.0')
    // Who deployed: the broker-key caller, from the Deploy-Requester trailer (a broker key has
    // no CI run URL; OIDC callers get a link, covered in test/functions/status/app.test.ts).
    await expect(card(page, 'staging').locator('dd', { hasText: 'key:browser-test' }).count()).resolves.toBe(1)
    await expect(
      card(page, 'staging').getByRole('table', { name: 'Recent deploys to staging' }).getByRole('row').count(),
    ).resolves.toBe(3) // header + the deploy + the seed

    await page.reload()
    await expect(card(page, 'staging').locator('code.image').textContent()).resolves.toBe('ghcr.io/acme/app:1.1.0')
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    expect(consoleErrors).toEqual([])
    await context.close()
  })

  it('says what is wrong with one broken environment and stays readable on a phone', async () => {
    await writer.repo(REPO).write('environments/qa.json', '{ "image": "ghcr.io/acme/app:2.0.0", }\n', {
      message: 'Hand-edit qa (broken)',
    })
    await writer.repo(REPO).write('holds/production.json', JSON.stringify({ reason: 'release freeze', by: 'ops' }), {
      message: 'Hold production',
    })
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true })
    const page = await context.newPage()
    await page.goto(`${served.url}/?key=${encodeURIComponent(viewer.credential)}`)
    await expect(card(page, 'qa').locator('.problem').textContent()).resolves.toMatch(
      /^environments\/qa\.json is not valid JSON/,
    )
    await expect(card(page, 'staging').locator('code.image').textContent()).resolves.toBe('ghcr.io/acme/app:1.1.0')
    await expect(card(page, 'production').getByText('Held', { exact: true }).isVisible()).resolves.toBe(true)
    // Nothing wider than the screen: no sideways scrolling on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true })
    await context.close()
  })

  it('never scrolls sideways at 1280 px or 375 px with a long OIDC identity; the full identity is in a tooltip and commits link out', async () => {
    const identity = 'github:acme/app:ref:refs/heads/main:environment:production-eu-west-1:run:1477155:attempt:2'
    const image = `ghcr.io/acme/a-very-long-organisation-name/${'service-'.repeat(8)}api@sha256:${'ab'.repeat(32)}`
    const applied = await applyConfigUpdate(
      { repo: writer.repo(REPO), repoName: REPO },
      { environment: 'staging', change: { image }, source: 'api', requester: identity, runUrl: 'https://github.com/acme/app/actions/runs/1477155' },
    )
    for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 800 }]] as const) {
      const context = await browser.newContext({ viewport, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) })
      const page = await context.newPage()
      await page.goto(`${served.url}/?key=${encodeURIComponent(viewer.credential)}`)
      const staging = card(page, 'staging')
      await expect(staging.locator('code.image').textContent()).resolves.toBe(image)
      const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
      expect(widths.scroll, name).toBeLessThanOrEqual(widths.client)
      // Shortened for reading, whole on hover.
      const who = staging.locator('dd .who')
      await expect(who.textContent()).resolves.toBe('github:acme/app@main (production-eu-west-1) #1477155.2')
      await expect(who.getAttribute('title')).resolves.toBe(identity)
      const link = staging.locator('dd a.commit').first()
      await expect(link.getAttribute('href')).resolves.toBe(`https://githosted.example/acme/${REPO}/commit/${applied.commit}`)
      await expect(staging.locator('.badge').first().textContent()).resolves.toBe('Deploys open')
      await expect(card(page, 'production').locator('.badge.held').textContent()).resolves.toBe('Held')
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-long-identity-${name}.png`), fullPage: true })
      await context.close()
    }
  })

  it('shows where a promoted value came from, with the chain and the promotion marked in the history', async () => {
    await writer.repo(REPO).write('environments/preprod.json', '{\n  "image": "ghcr.io/acme/app:1.0.0"\n}\n', { message: 'Add preprod' })
    const res = await fetch(`${deployApi.url}/v1/promotions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${brokerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: REPO, from: 'staging', to: 'preprod' }),
    })
    expect(res.status, await res.clone().text()).toBe(200)
    const promoted = (await res.json()) as { commit: string; from: { commit: string } }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await page.goto(`${served.url}/?key=${encodeURIComponent(viewer.credential)}`)
    const preprod = card(page, 'preprod')
    const origin = preprod.locator('dd.lineage [data-lineage="promotion"]')
    await expect(origin.textContent()).resolves.toContain(`promoted from staging at ${promoted.from.commit.slice(0, 7)}`)
    await expect(origin.locator('a[href="#env-staging"]').textContent()).resolves.toBe('staging')
    await expect(origin.locator('.chain').textContent()).resolves.toBe(' (staging → preprod)')
    await expect(preprod.locator('.history .promoted').first().textContent()).resolves.toBe(`promoted from staging@${promoted.from.commit.slice(0, 7)}`)
    await expect(card(page, 'staging').locator('dd.lineage [data-lineage="api"]').isVisible()).resolves.toBe(true)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-lineage.png'), fullPage: true })
    await context.close()
  })
})
