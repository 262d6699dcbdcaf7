import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { envVars, githostedUrl, secretCacheTtlMs } from '../../../../functions/lib/lambda/config.js'

describe('envVars', () => {
  it('trims values and treats blank as unset', () => {
    const vars = envVars({ A: '  a  ', B: '   ', C: '' })
    expect(vars.optional('A')).toBe('a')
    expect(vars.optional('B')).toBeUndefined()
    expect(vars.optional('C')).toBeUndefined()
    expect(vars.optional('D')).toBeUndefined()
  })

  it('names a missing required variable and why, never a value', () => {
    const vars = envVars({ SET: 'arn:aws:secret', BLANK: ' ' })
    expect(vars.required('SET', 'x')).toBe('arn:aws:secret')
    expect(() => vars.required('BLANK', 'the reason')).toThrow(ConfigError)
    expect(() => vars.required('BLANK', 'the reason')).toThrow('Missing environment variable BLANK (the reason).')
  })
})

describe('secretCacheTtlMs', () => {
  it('defaults to 300 s and accepts 0..86400 whole seconds', () => {
    expect(secretCacheTtlMs(envVars({}))).toBe(300_000)
    expect(secretCacheTtlMs(envVars({ SECRET_CACHE_TTL_SECONDS: '0' }))).toBe(0)
    expect(secretCacheTtlMs(envVars({ SECRET_CACHE_TTL_SECONDS: ' 86400 ' }))).toBe(86_400_000)
  })

  it('refuses units, fractions, negatives and more than a day', () => {
    for (const bad of ['5m', '1.5', '-1', '86401']) {
      expect(() => secretCacheTtlMs(envVars({ SECRET_CACHE_TTL_SECONDS: bad }))).toThrow(/SECRET_CACHE_TTL_SECONDS/)
    }
  })
})

describe('githostedUrl', () => {
  it('defaults to the public API and refuses a non-URL without echoing it', () => {
    expect(githostedUrl(envVars({}))).toBe('https://api.githosted.dev')
    expect(githostedUrl(envVars({ GITHOSTED_URL: 'http://127.0.0.1:9' }))).toBe('http://127.0.0.1:9')
    expect(() => githostedUrl(envVars({ GITHOSTED_URL: 'not a url' }))).toThrow('GITHOSTED_URL is not a URL.')
  })
})
