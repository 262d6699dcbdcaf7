import { describe, expect, it } from 'vitest'
import { createFunctionApp, lazily } from '../../../../functions/lib/edge/app.js'
import { ConfigError } from '../../../../functions/lib/errors.js'

describe('createFunctionApp', () => {
  function app(build: () => { greeting: string }) {
    let n = 0
    const a = createFunctionApp<{ greeting: string }>({ deps: lazily(build), depsOn: ['/v1/*'], newRequestId: () => `id-${++n}` })
    a.get('/v1/hello', (c) => c.json({ says: c.var.deps.greeting, id: c.var.requestId }))
    return a
  }

  it('gives every response a request id of its own making, never the caller\'s', async () => {
    const res = await app(() => ({ greeting: 'hi' })).request('/v1/hello', { headers: { 'x-request-id': 'chosen-by-caller' } })
    expect(res.headers.get('x-request-id')).toBe('id-1')
    expect(await res.json()).toEqual({ says: 'hi', id: 'id-1' })
  })

  it('prefers API Gateway\'s request id', async () => {
    const res = await app(() => ({ greeting: 'hi' })).request('/v1/hello', {}, { event: { requestContext: { requestId: 'apigw-7' } } })
    expect(res.headers.get('x-request-id')).toBe('apigw-7')
  })

  it('builds the dependencies only where routes need them, and again after a failure', async () => {
    let builds = 0
    let broken = true
    const a = app(() => {
      builds++
      if (broken) throw new ConfigError('Missing environment variable SOME_ARN (why).')
      return { greeting: 'fixed' }
    })
    expect((await a.request('/healthz')).status).toBe(200)
    expect(builds).toBe(0)
    const failed = await a.request('/v1/hello')
    expect(failed.status).toBe(500)
    expect(failed.headers.get('content-type')).toBe('application/problem+json')
    expect(await failed.json()).toMatchObject({ code: 'CONFIG_INVALID', detail: expect.stringContaining('SOME_ARN') })
    broken = false
    expect(await (await a.request('/v1/hello')).json()).toMatchObject({ says: 'fixed' })
    await a.request('/v1/hello')
    expect(builds).toBe(2)
  })

  it('answers unknown paths 404 and other methods 405 with Allow, as problems', async () => {
    const a = app(() => ({ greeting: 'hi' }))
    const missing = await a.request('/v1/nope')
    expect([missing.status, (await missing.json()).code]).toEqual([404, 'NOT_FOUND'])
    const wrong = await a.request('/v1/hello', { method: 'DELETE' })
    expect([wrong.status, wrong.headers.get('allow'), (await wrong.json()).code]).toEqual([405, 'GET, HEAD', 'METHOD_NOT_ALLOWED'])
  })
})
