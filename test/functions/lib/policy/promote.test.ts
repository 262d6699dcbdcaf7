import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { loadPolicy } from '../../../../functions/lib/policy/index.js'
import { keyIdentity } from '../../token/fakes.js'

const grant = { repos: ['deploy-configs'], permission: 'write', maxTtl: '1h' }
const policyWith = (promote: unknown, extra: Record<string, unknown> = {}) =>
  loadPolicy({ version: 1, rules: [{ name: 'release', match: { brokerKey: 'release' }, grant: { ...grant, ...extra, promote } }] })

describe('the promote grant', () => {
  it('allows exactly the listed paths and hands back their gates', () => {
    const policy = policyWith([{ from: 'staging', to: 'production', minSoak: '30m', requireChecks: ['e2e'] }])
    const ok = policy.authorizePromote(keyIdentity('release'), { repo: 'deploy-configs', from: 'staging', to: 'production' })
    expect(ok).toMatchObject({ allowed: true, rule: 'release', promote: { from: 'staging', to: 'production', minSoakSeconds: 1800, requireChecks: ['e2e'] } })
    const back = policy.authorizePromote(keyIdentity('release'), { repo: 'deploy-configs', from: 'production', to: 'staging' })
    expect(back.allowed).toBe(false)
    expect(back.reason).toContain('promotion production → staging is not in its grant (promote: staging → production)')
    expect(policy.authorizePromote(keyIdentity('release'), { repo: 'other', from: 'staging', to: 'production' }).allowed).toBe(false)
    // A promote path gives no deploy rights of its own.
    expect(policy.authorizeDeploy(keyIdentity('release'), { repo: 'deploy-configs', environment: 'production' }).allowed).toBe(false)
  })

  it('is denied by default: deploy rights to both environments are not a promote path', () => {
    const policy = loadPolicy({ version: 1, rules: [{ name: 'deployer', match: { brokerKey: 'd' }, grant: { ...grant, environments: ['staging', 'production'] } }] })
    const d = policy.authorizePromote(keyIdentity('d'), { repo: 'deploy-configs', from: 'staging', to: 'production' })
    expect(d.allowed).toBe(false)
    expect(d.reason).toContain('its grant allows no promotions')
  })

  it.each([
    [[{ from: 'staging', to: 'prod*' }], 'grant.promote[0].to: an environment name'],
    [[{ from: 'staging', to: 'staging' }], 'grant.promote[0]: from and to are the same environment'],
    [[{ from: 'staging', to: 'production', minSoak: 'soon' }], 'grant.promote[0].minSoak: not a duration'],
    [[{ from: 'staging', to: 'production', requireChecks: ['bad name'] }], 'grant.promote[0].requireChecks[0]'],
    [[{ from: 'staging', to: 'production', after: '1h' }], 'unknown field "after"'],
  ])('refuses %j', (promote, message) => {
    expect(() => policyWith(promote)).toThrow(ConfigError)
    expect(() => policyWith(promote)).toThrow(message)
  })

  it('refuses promote on a read-only grant', () => {
    expect(() => policyWith([{ from: 'staging', to: 'production' }], { permission: 'read' })).toThrow('promoting needs permission write')
  })
})
