/**
 * Attacks on what the status function shows: markup in every field the
 * dashboard renders (checked in real Chromium: nothing runs, nothing is
 * injected, the text is shown as text), the session cookie's flags, and
 * cross-origin reads (no CORS on any function).
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatDeployMessage } from '../../functions/lib/deploys/trailers.js'
import { launchChromium } from '../browser/chromium.js'
import { REPO, startHarness, type Harness } from './harness.js'

let h: Harness
let browser: Browser

/** Sets a flag if it ever runs, whichever way it is parsed. */
const PAYLOADS = [
  `<img src=x onerror="window.__pwned=1">`,
  `"><script>window.__pwned=2</script>`,
  `'><svg onload="window.__pwned=3">`,
  `</code></dd><iframe srcdoc="<script>parent.__pwned=4</script>">`,
]

beforeAll(async () => {
  ;[h, browser] = await Promise.all([startHarness(), launchChromium()])
  const repo = h.admin.repo(REPO)
  const [p0, p1, p2, p3] = PAYLOADS as [string, string, string, string]
  // Written straight to the repo (as a hand edit or a compromised writer could): the API refuses most of this.
  await repo.write('environments/xss.json', `${JSON.stringify({ image: p0, replicas: p1, note: p2 }, null, 2)}\n`, {
    message: formatDeployMessage(`Deploy ${p3}`, {
      environment: 'xss',
      source: p1,
      changes: [{ pointer: '/image', previous: p2, current: p0 }],
      requester: p0,
      runUrl: 'javascript:window.__pwned=5',
      reason: p3,
    }),
    authorName: p2,
    authorEmail: 'x@example.com',
  })
  await repo.write('holds/xss.json', JSON.stringify({ reason: p0, by: p1, at: '2026-01-01T00:00:00Z' }), { message: `Hold ${p2}` })
  await repo.write('environments/broken.json', `{ "image": ${JSON.stringify(p3)}, }`, { message: `Break ${p0}` })
})
afterAll(async () => {
  await browser?.close()
  await h?.close()
})

describe('XSS through rendered fields, in Chromium', () => {
  it('every field is shown as text; no script runs and no element is injected, on load and after a refresh', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const dialogs: string[] = []
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await page.goto(`${h.url}/?key=${encodeURIComponent(h.viewerCredential)}`)
    const card = page.getByRole('article', { name: 'xss', exact: true })
    await card.waitFor()
    const text = (await card.textContent()) ?? ''
    // Shown verbatim as text: the image, who deployed, the hold.
    expect(text).toContain(PAYLOADS[0])
    expect(await page.getByRole('article', { name: 'broken', exact: true }).textContent()).toContain('not valid JSON')
    for (const selector of ['img[src="x"]', 'script:not([nonce])', 'svg[onload]', 'iframe', '[onerror]', '[onload]', 'a[href^="javascript:"]']) {
      expect(await page.locator(selector).count(), selector).toBe(0)
    }
    // The refresh path renders the same fields through the fragment.
    await page.evaluate(async () => {
      const res = await fetch('./?fragment=1', { headers: { 'if-none-match': '' } })
      const holder = document.createElement('template')
      holder.innerHTML = await res.text()
      document.body.append(holder.content)
    })
    await page.waitForTimeout(200)
    for (const selector of ['img[src="x"]', 'svg[onload]', 'iframe', '[onerror]', 'a[href^="javascript:"]']) {
      expect(await page.locator(selector).count(), selector).toBe(0)
    }
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(dialogs).toEqual([])
    await context.close()
  })

  it('the JSON API returns the same values as JSON strings, with a JSON content type', async () => {
    const r = await h.call('GET', `/v1/status?repo=${REPO}`, { auth: h.brokerKey })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    expect(r.text).toContain(JSON.stringify(PAYLOADS[0]).slice(1, -1))
  })
})

describe('session cookie and page headers', () => {
  it('the viewer session cookie is HttpOnly, SameSite=Strict, path-scoped and short-lived; the key leaves the URL', async () => {
    const r = await h.call('GET', `/?key=${encodeURIComponent(h.viewerCredential)}`)
    expect(r.status).toBe(303)
    expect(r.headers.get('location')).toBe('./')
    const cookie = r.headers.get('set-cookie')!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    expect(cookie).toMatch(/Path=\//)
    expect(cookie).toMatch(/Max-Age=\d+/)
    expect(r.headers.get('cache-control')).toBe('no-store')
    expect(r.headers.get('referrer-policy')).toBe('no-referrer')
    // Secure everywhere but plain-http loopback (see test/functions/status/bundle.test.ts for the Lambda form).
  })

  it('a wrong viewer key gets 401 and no cookie', async () => {
    const r = await h.call('GET', '/?key=not-the-key')
    expect(r.status).toBe(401)
    expect(r.headers.get('set-cookie')).toBeNull()
  })
})

describe('no CORS on any function', () => {
  it.each([
    ['OPTIONS', '/v1/tokens'],
    ['POST', '/v1/tokens'],
    ['OPTIONS', '/ci/token'],
    ['POST', '/v1/deploys'],
    ['OPTIONS', '/v1/deploys/hold'],
    ['GET', '/v1/status'],
    ['OPTIONS', '/v1/status'],
    ['GET', '/'],
  ])('%s %s from another origin gets no Access-Control-Allow-* header', async (method, path) => {
    const r = await h.call(method, path, {
      auth: h.brokerKey,
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      ...(method === 'POST' ? { body: {} } : {}),
    })
    for (const [name] of r.headers) expect(name.startsWith('access-control-allow'), `${name} on ${method} ${path}`).toBe(false)
  })

  it('a page on another origin cannot read the API from Chromium', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    // Any origin other than the broker's: the broker's own 404 page on another loopback name will do.
    await page.goto(h.url.replace('127.0.0.1', 'localhost') + '/healthz')
    const outcome = await page.evaluate(async (url) => {
      try {
        const res = await fetch(`${url}/v1/status`, { headers: { authorization: 'Bearer x' } })
        return `read ${res.status}`
      } catch {
        return 'blocked'
      }
    }, h.url)
    expect(outcome).toBe('blocked')
    await context.close()
  })

  it('no secret in any log line', () => {
    h.expectNoSecretsInLogs()
  })
})
