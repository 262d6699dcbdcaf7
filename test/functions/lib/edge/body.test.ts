import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { limitBody, readFields, rejectUnknownFields } from '../../../../functions/lib/edge/body.js'
import { problemResponse } from '../../../../functions/lib/edge/problem.js'

function app(allowForm: boolean) {
  const a = new Hono()
  a.use(limitBody(64))
  a.post('/', async (c) => c.json(await readFields(c, { allowForm })))
  a.onError((err, c) => problemResponse(c, err))
  return a
}

const post = (a: Hono, body: BodyInit, type?: string) =>
  a.request('/', { method: 'POST', body, headers: type ? { 'content-type': type } : {} })

describe('readFields', () => {
  it('parses a JSON body sent with curl -d (form content type)', async () => {
    const res = await post(app(true), '{"repo": "deploy-configs", "ttl": "1h"}', 'application/x-www-form-urlencoded')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ repo: 'deploy-configs', ttl: '1h' })
  })

  it('parses JSON with application/json, and a real form where allowed', async () => {
    expect(await (await post(app(false), '{"a":1}', 'application/json')).json()).toEqual({ a: 1 })
    const form = await post(app(true), 'repo=deploy-configs&ttl=15m', 'application/x-www-form-urlencoded')
    expect(await form.json()).toEqual({ repo: 'deploy-configs', ttl: '15m' })
  })

  it('rejects malformed JSON, arrays, empty bodies and forms where not allowed', async () => {
    for (const [body, type, fragment] of [
      ['{"repo": ', 'application/json', 'not valid JSON'],
      ['[1,2]', 'application/json', 'must be a JSON object'],
      ['', 'application/json', 'empty'],
      ['repo=x', 'application/x-www-form-urlencoded', 'not valid JSON'],
    ] as const) {
      const res = await post(app(false), body, type)
      expect(res.status, body).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).detail).toContain(fragment)
    }
  })

  it('answers 415 for other media types and 413 over the limit', async () => {
    expect((await post(app(true), '<a/>', 'application/xml')).status).toBe(415)
    const big = await post(app(true), JSON.stringify({ x: 'y'.repeat(100) }), 'application/json')
    expect(big.status).toBe(413)
    expect((await big.json()).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('rejects duplicate form fields and unknown fields by name', async () => {
    const dup = await post(app(true), 'repo=a&repo=b', 'application/x-www-form-urlencoded')
    expect(dup.status).toBe(400)
    expect((await dup.json()).field).toBe('repo')
    expect(() => rejectUnknownFields({ repo: 'a', permision: 'write' }, ['repo', 'permission'])).toThrow(
      /Unknown field "permision"/,
    )
  })
})
