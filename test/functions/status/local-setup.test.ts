import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { Client } from '../../../functions/lib/githosted/index.js'
import { createLocalStatus, type LocalStatus } from '../../../functions/status/local-setup.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'
import { fakeAuthenticator } from './fakes.js'

let gh: TestGithosted
let local: LocalStatus
let served: ServedApp

beforeAll(async () => {
  gh = await startTestGithosted()
  local = await createLocalStatus({
    githostedUrl: gh.url,
    workspaceToken: gh.bootstrapToken,
    authenticator: fakeAuthenticator,
    logger: createLogger({ sink: () => {} }),
  })
  served = await serveApp(local.app.fetch)
})

afterAll(async () => {
  await served?.close()
  await gh?.close()
})

describe('createLocalStatus (npm start wiring)', () => {
  it('prints a dashboard URL that opens as is: ?key= sets the session, then the page renders', async () => {
    const url = local.dashboardUrl(served.url + '/')
    expect(url.startsWith(`${served.url}/?key=gvc_`)).toBe(true)
    const login = await fetch(url, { redirect: 'manual' })
    expect(login.status).toBe(303)
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
    const page = await fetch(`${served.url}/`, { headers: { cookie } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<code class="image">ghcr.io/acme/app:1.0.0</code>')
  })

  it('reads with a freshly minted read-only repo token that expires, not the workspace token', async () => {
    const admin = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
    const { tokens } = await admin.listTokens()
    const dashboard = tokens.filter((t) => t.name === 'dashboard-local')
    expect(dashboard).toHaveLength(1)
    expect(dashboard[0]).toMatchObject({ kind: 'repo', permission: 'read', repoAllowlist: ['deploy-configs'] })
    expect(dashboard[0]!.expiresAt).toBeInstanceOf(Date)
    expect(local.readTokenPrefix).toBe(dashboard[0]!.prefix)
  })
})
