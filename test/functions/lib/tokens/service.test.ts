/**
 * The token use cases called as any transport would call them: plain inputs,
 * no HTTP. The Hono app's own tests (test/functions/token/) cover the wire.
 */
import { describe, expect, it } from 'vitest'
import { createAuditor } from '../../../../functions/lib/audit/audit.js'
import { ForbiddenError, RateLimitedError, ValidationError } from '../../../../functions/lib/errors.js'
import { createLogger } from '../../../../functions/lib/observability/logger.js'
import { staticSecret } from '../../../../functions/lib/secrets/index.js'
import { createTokenService, type TokenCall } from '../../../../functions/lib/tokens/service.js'
import { fakeAuthenticator, fakeGithosted, fakePolicy, oidcIdentity } from '../../token/fakes.js'

// Run-time credentials: never committed, never printed.
const WORKSPACE = `gw_${Math.random().toString(36).slice(2)}workspace`
const OIDC = `oidc-${Math.random().toString(36).slice(2)}`
const identity = oidcIdentity('acme/app', '7')

function setup() {
  const lines: Array<Record<string, any>> = []
  const logger = createLogger({ level: 'info', sink: (l) => lines.push(JSON.parse(l)) })
  const auth = fakeAuthenticator({ [OIDC]: identity })
  const gh = fakeGithosted(WORKSPACE)
  const service = createTokenService({
    authenticator: auth.authenticator,
    policy: fakePolicy([{ name: 'acme-app', subject: identity.subject, grant: { repos: ['deploy-configs'], maxTtlSeconds: 1800 } }]),
    workspaceToken: staticSecret(WORKSPACE),
    githosted: gh.factory,
    logger,
    auditor: createAuditor(logger),
  })
  return { service, auth, gh, audits: () => lines.filter((l) => l.audit === 1) }
}

function call(overrides: Partial<TokenCall> = {}): TokenCall {
  return { requestId: 'r-1', authorization: `Bearer ${OIDC}`, ipChecked: async () => {}, ...overrides }
}

const request = (ttlSeconds: number, repos = ['deploy-configs']) => ({ repos, permission: 'write' as const, ttlSeconds })

describe('token service', () => {
  it('mints within the grant, clamps the TTL, records the owner and writes one audit line', async () => {
    const { service, gh, audits } = setup()
    const minted = await service.mint(call(), () => request(7200))
    expect(minted).toMatchObject({ repos: ['deploy-configs'], rule: 'acme-app', ttlSeconds: 1800, requestedTtlSeconds: 7200, clamped: true })
    expect(minted.token.startsWith('gr_')).toBe(true)
    expect(gh.records.size).toBe(1)
    expect(audits()).toEqual([expect.objectContaining({ event: 'token.mint', outcome: 'allowed', ttlSeconds: 1800, tokenId: minted.record.id, clamped: true })])
    // The owner may revoke it through the same service; the record is gone afterwards.
    await service.revoke(call(), minted.record.id)
    await expect(service.revoke(call(), minted.record.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('reads the body before authenticating: a bad body burns no single-use token', async () => {
    const { service, auth, audits } = setup()
    await expect(service.mint(call(), () => { throw new ValidationError('ttl is not a duration', 'ttl') })).rejects.toBeInstanceOf(ValidationError)
    expect(auth.consumed.size).toBe(0)
    expect(audits()).toEqual([expect.objectContaining({ outcome: 'denied', code: 'VALIDATION_FAILED' })])
  })

  it('gives the single use back when no token is minted (policy denial, address over its limit)', async () => {
    const { service, auth } = setup()
    await expect(service.mint(call(), () => request(600, ['app-config']))).rejects.toBeInstanceOf(ForbiddenError)
    expect(auth.released).toEqual([OIDC])
    const overLimit = call({ ipChecked: async () => { throw new RateLimitedError('too many from this address', 30) } })
    await expect(service.mint(overLimit, () => request(600))).rejects.toBeInstanceOf(RateLimitedError)
    expect(auth.released).toEqual([OIDC, OIDC])
    // Still usable once: the claim was released both times.
    await expect(service.mint(call(), () => request(600))).resolves.toMatchObject({ ttlSeconds: 600 })
  })

  it('explains without minting or consuming the token, and says what the policy would do', async () => {
    const { service, auth, gh } = setup()
    const explained = await service.explain(call(), () => request(7200))
    expect(explained).toMatchObject({ dryRun: true, allowed: true, rule: 'acme-app', ttlSeconds: 1800, clamped: true })
    expect(auth.purposes).toEqual(['read'])
    expect(gh.records.size).toBe(0)
  })
})
