/**
 * Attacks on the mint and revoke requests themselves: asking for more TTL,
 * permission or repos than granted, broker keys that almost match, and
 * revoking a token someone else minted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO, startHarness, type Harness } from './harness.js'

let h: Harness
const minted: string[] = []

beforeAll(async () => {
  h = await startHarness()
  await h.admin.createRepo({ name: 'other-repo' })
})
afterAll(async () => {
  await h?.close()
})

const github = () => h.oidc.mint('github')

describe('TTL, permission and repo-list injection', () => {
  it.each([
    [{ repo: REPO, ttl: '1h\nX-Injected: 1' }, 'ttl'],
    [{ repo: REPO, ttl: '99999h' }, 'ttl'],
    [{ repo: REPO, ttl: '-1h' }, 'ttl'],
    [{ repo: REPO, ttl: '1e9s' }, 'ttl'],
    [{ repo: REPO, ttlSeconds: 1e12 }, 'ttlSeconds'],
    [{ repo: REPO, ttl: ['1h', '2h'] }, 'ttl'],
    [{ repo: REPO, permission: 'admin' }, 'permission'],
    [{ repo: REPO, permission: ['write', 'admin'] }, 'permission'],
    [{ repo: 'deploy-configs,other-repo' }, 'repo'],
    [{ repo: '../other-repo' }, 'repo'],
    [{ repos: [REPO, 'Other Repo'] }, 'repos'],
    [{ repo: REPO, repos: ['other-repo'] }, 'repo'],
    [{ repo: REPO, maxTtl: '24h' }, undefined],
  ])('%j is refused: 400 VALIDATION_FAILED, and the ID token is not used up', async (body, field) => {
    const jwt = await github()
    const r = await h.call('POST', '/v1/tokens', { auth: jwt, body })
    expect(r.status).toBe(400)
    expect(r.json).toMatchObject({ code: 'VALIDATION_FAILED' })
    if (field) expect(String(r.json!.field ?? r.json!.detail)).toContain(field)
    const ok = await h.call('POST', '/v1/tokens', { auth: jwt, body: { repo: REPO, ttl: '5m' } })
    expect(ok.status).toBe(201)
    minted.push(ok.json!.token)
  })

  it('a repo list with one repo outside the grant is refused whole: 403 FORBIDDEN', async () => {
    const r = await h.call('POST', '/v1/tokens', { auth: await github(), body: { repos: [REPO, 'other-repo'] } })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
  })

  it('a longer TTL than granted is clamped, never honoured', async () => {
    const r = await h.call('POST', '/v1/tokens', { auth: await github(), body: { repo: REPO, ttl: '24h', permission: 'write' } })
    expect(r.status).toBe(201)
    minted.push(r.json!.token)
    expect(r.json).toMatchObject({ ttlSeconds: 3600, clamped: true })
    expect(Date.parse(r.json!.expiresAt) - Date.now()).toBeLessThanOrEqual(3600_000 + 5_000)
  })

  it('/ci/token form fields cannot smuggle a second value', async () => {
    const res = await fetch(`${h.url}/ci/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.brokerKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'repo=deploy-configs&repo=other-repo&ttl=1h',
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/^error: .*\(VALIDATION_FAILED, request [^)]+\)\n$/)
  })
})

describe('broker-key near misses: 401, no hint which part was wrong', () => {
  it('each variant of the real key is refused', async () => {
    const key = h.brokerKey
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
    const variants: Array<[string, string]> = [
      [flip(key, key.length - 1), 'BROKER_KEY_INVALID'],
      [flip(key, 4), 'BROKER_KEY_INVALID'],
      [key.slice(0, -1), 'BROKER_KEY_INVALID'],
      [`${key}A`, 'BROKER_KEY_INVALID'],
      [key.toUpperCase().replace('GBK_', 'gbk_'), 'BROKER_KEY_INVALID'],
      [key.replace('gbk_', 'gbk-'), 'CREDENTIAL_MALFORMED'],
      [key.replace('gbk_', 'GBK_'), 'CREDENTIAL_MALFORMED'],
    ]
    const details = new Set<string>()
    for (const [variant, code] of variants) {
      const r = await h.call('POST', '/v1/tokens', { auth: variant, body: { repo: REPO } })
      expect(r.status, variant.slice(0, 8)).toBe(401)
      expect(r.json).toMatchObject({ code })
      expect(r.text.includes(variant)).toBe(false)
      if (code === 'BROKER_KEY_INVALID') details.add(r.json!.detail)
    }
    // One message for every near miss: nothing to climb.
    expect(details.size).toBe(1)
  })

  it('the key in the wrong header form is refused', async () => {
    for (const authorization of [h.brokerKey, `Basic ${h.brokerKey}`, `Bearer  ${h.brokerKey} extra`, `Token ${h.brokerKey}`]) {
      const res = await fetch(`${h.url}/v1/tokens`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: REPO }),
      })
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ code: 'CREDENTIAL_MALFORMED' })
    }
  })
})

describe('foreign revocation', () => {
  it('a token minted by one identity cannot be revoked by another: 403 FORBIDDEN; its owner can', async () => {
    const owner = await github()
    const mine = await h.call('POST', '/v1/tokens', { auth: owner, body: { repo: REPO, ttl: '5m' } })
    expect(mine.status).toBe(201)
    minted.push(mine.json!.token)
    const id = mine.json!.tokenId as string
    for (const auth of [h.brokerKey, await h.oidc.mint('gitlab'), await h.oidc.mint('github', { claims: { repository_id: '75' } })]) {
      const r = await h.call('DELETE', `/v1/tokens/${id}`, { auth })
      expect(r.status).toBe(403)
      expect(r.json).toMatchObject({ code: 'FORBIDDEN' })
    }
    // The owner (its ID token is not used up by a revoke) can.
    expect((await h.call('DELETE', `/v1/tokens/${id}`, { auth: owner })).status).toBe(204)
  })

  it('unknown and malformed ids: 404 and 400', async () => {
    const unknown = await h.call('DELETE', '/v1/tokens/tok_doesnotexist', { auth: h.brokerKey })
    expect(unknown.status).toBe(404)
    expect(unknown.json).toMatchObject({ code: 'NOT_FOUND' })
    const bad = await h.call('DELETE', `/v1/tokens/${encodeURIComponent('../x')}`, { auth: h.brokerKey })
    expect([400, 404]).toContain(bad.status)
  })

  it('no minted token, ID token or key in any log line', () => {
    h.expectNoSecretsInLogs(minted)
  })
})
