import { describe, expect, it } from 'vitest'
import { functionForPath, ROUTES } from '../../functions/routes.js'

describe('functionForPath', () => {
  it('sends each API path to the function API Gateway routes it to', () => {
    expect(functionForPath('/ci/token')).toBe('token')
    expect(functionForPath('/v1/tokens')).toBe('token')
    expect(functionForPath('/v1/tokens/tok_123')).toBe('token')
    expect(functionForPath('/healthz')).toBe('token')
    expect(functionForPath('/v1/deploys')).toBe('deploy')
    expect(functionForPath('/v1/deploys/rollback')).toBe('deploy')
    expect(functionForPath('/v1/status')).toBe('status')
    expect(functionForPath('/v1/status/production/history')).toBe('status')
    expect(functionForPath('/')).toBe('status')
  })

  it('sends paths no function serves to the status function (its 404 is problem+json), and /openapi.json there too', () => {
    for (const path of ['/v1/nope', '/v1/tokensX', '/v1/deploysX', '/ci/token/extra', '/index.html', '/v1', '/openapi.json']) {
      expect(functionForPath(path), path).toBe('status')
    }
    expect(ROUTES.at(-1)!.path).toBe('/{proxy+}')
  })

  it('lists every route path once', () => {
    const keys = ROUTES.map((r) => r.path)
    expect(new Set(keys).size).toBe(keys.length)
  })
})
