import { startLocalOidcIssuer } from '../local/oidc/index.js'
import { createAuthenticator, MemoryReplayStore } from '../functions/lib/auth/index.js'
import { loadPolicyFile } from '../functions/lib/policy/load-file.js'
const iss = await startLocalOidcIssuer({ audience: 'aud1' })
const policy = loadPolicyFile('local/policy.yaml', { issuerUrls: iss.policyIssuerUrls })
const auth = createAuthenticator({ oidc: { issuers: policy.issuers, audience: 'aud1' }, replayStore: new MemoryReplayStore() })
for (const p of ['github', 'gitlab', 'circleci', 'buildkite'] as const) {
  const t = await iss.mint(p, { alg: p === 'circleci' ? 'ES256' : 'RS256' })
  const id = await auth.authenticate(`Bearer ${t}`, 'mint')
  const d = policy.authorizeMint(id, { repos: ['deploy-configs'], permission: 'write', ttlSeconds: 7200 })
  console.log(p, id.subject, id.ciRunUrl, d.allowed, d.reason, d.ttlSeconds, d.clamped)
  const d2 = policy.authorizeDeploy(id, { repo: 'deploy-configs', environment: 'prod' })
  console.log('  ', d2.reason, JSON.stringify(d2.trace))
  try { await auth.authenticate(`Bearer ${t}`, 'mint') } catch (e: any) { console.log('  replay:', e.code, e.message) }
}
console.log(iss.requests)
await iss.close()
