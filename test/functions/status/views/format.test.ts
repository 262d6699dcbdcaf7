import { describe, expect, it } from 'vitest'
import { commitUrl, shortIdentity } from '../../../../functions/status/views/format.js'

describe('shortIdentity', () => {
  it('reads CI identities at a glance and leaves short ones alone', () => {
    expect(shortIdentity('github:acme/app:ref:refs/heads/main:run:1477155:attempt:1')).toBe('github:acme/app@main #1477155')
    expect(shortIdentity('gitlab:group/sub/app:ref:refs/heads/release:environment:prod')).toBe('gitlab:group/sub/app@release (prod)')
    expect(shortIdentity('key:local')).toBe('key:local')
  })

  it('keeps both ends of anything else that is long', () => {
    const s = shortIdentity(`someone-with-a-remarkably-long-name-${'x'.repeat(40)}-end-of-it`)
    expect(s.length).toBeLessThanOrEqual(37)
    expect(s).toMatch(/^someone-with-a-remarkabl….*end-of-it$/)
  })
})

describe('commitUrl', () => {
  it('fills {repo} and {sha}, encoded, and renders only http(s) links', () => {
    expect(commitUrl('https://g.example/acme/{repo}/commit/{sha}', 'deploy-configs', 'abc123')).toBe('https://g.example/acme/deploy-configs/commit/abc123')
    expect(commitUrl('https://g.example/{repo}?q={sha}', 'a b', 'c&d')).toBe('https://g.example/a%20b?q=c%26d')
    expect(commitUrl('javascript:alert({sha})', 'r', '1')).toBeUndefined()
    expect(commitUrl(undefined, 'r', '1')).toBeUndefined()
  })
})
