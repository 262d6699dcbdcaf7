import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleFunction } from '../../../../build/bundle.js'
import { createAuthenticator } from '../../../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../../../functions/lib/auth/replay.js'
import { loadPolicyFile } from '../../../../functions/lib/policy/load-file.js'
import { CI_PROVIDERS, startLocalOidcIssuer, type LocalOidcIssuer } from '../../../../local/oidc/index.js'

describe('config/policy.yaml (production example)', () => {
  const policy = loadPolicyFile('config/policy.yaml')

  it('loads, trusts github.com and gitlab.com, and lets ci-legacy mint write for deploy-configs up to 1 h', () => {
    expect(policy.issuers.map((i) => i.url)).toEqual(['https://token.actions.githubusercontent.com', 'https://gitlab.com'])
    const legacy = { kind: 'broker-key' as const, keyName: 'ci-legacy', subject: 'key:ci-legacy', claims: { keyName: 'ci-legacy' }, credentialId: 'k' }
    const decision = policy.authorizeMint(legacy, { repos: ['deploy-configs'], permission: 'write', ttlSeconds: 7200 })
    expect(decision).toMatchObject({ allowed: true, rule: 'ci-legacy', ttlSeconds: 3600, clamped: true })
    expect(policy.authorizeMint(legacy, { repos: ['other'], permission: 'read', ttlSeconds: 60 }).allowed).toBe(false)
  })
})

describe('local/policy.yaml with the local OIDC issuer (npm start)', () => {
  let issuer: LocalOidcIssuer
  beforeAll(async () => {
    issuer = await startLocalOidcIssuer({ audience: 'http://127.0.0.1/broker' })
  })
  afterAll(async () => {
    await issuer.close()
  })

  it('lets each CI flavour of acme/app on main mint and deploy to staging and production', async () => {
    const policy = loadPolicyFile('local/policy.yaml', { issuerUrls: issuer.policyIssuerUrls })
    const auth = createAuthenticator({
      oidc: { issuers: policy.issuers, audience: 'http://127.0.0.1/broker', cache: new Map() },
      replayStore: new MemoryReplayStore(),
    })
    for (const provider of CI_PROVIDERS) {
      const identity = await auth.authenticate(`Bearer ${await issuer.mint(provider)}`, 'mint')
      expect(policy.authorizeMint(identity, { repos: ['deploy-configs'], permission: 'write', ttlSeconds: 900 }).allowed).toBe(true)
      for (const environment of ['staging', 'production']) {
        expect(policy.authorizeDeploy(identity, { repo: 'deploy-configs', environment }).allowed).toBe(true)
      }
    }
    const branch = await auth.authenticate(
      `Bearer ${await issuer.mint('github', { claims: { ref: 'refs/heads/feature' } })}`,
      'mint',
    )
    expect(policy.authorizeMint(branch, { repos: ['deploy-configs'], permission: 'read', ttlSeconds: 60 }).allowed).toBe(false)
  })

  it('lets the broker key "local" mint read/write (1 h max) and deploy', async () => {
    const policy = loadPolicyFile('local/policy.yaml', { issuerUrls: issuer.policyIssuerUrls })
    const key = generateBrokerKey()
    const auth = createAuthenticator({
      brokerKeys: () => [{ name: 'local', sha256: hashBrokerKey(key) }],
      replayStore: new MemoryReplayStore(),
    })
    const identity = await auth.authenticate(`Bearer ${key}`, 'mint')
    expect(policy.authorizeMint(identity, { repos: ['deploy-configs'], permission: 'write', ttlSeconds: 7200 })).toMatchObject({
      allowed: true,
      ttlSeconds: 3600,
      clamped: true,
    })
    expect(policy.authorizeDeploy(identity, { repo: 'deploy-configs', environment: 'production' }).allowed).toBe(true)
  })

  it('without the URL overrides, the placeholders trust nothing that is running', () => {
    const policy = loadPolicyFile('local/policy.yaml')
    expect(policy.issuers.every((i) => i.url.startsWith('http://127.0.0.1/'))).toBe(true)
  })
})

describe('the yaml build plugin', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'policy-plugin-'))
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('compiles a policy import into JSON in the bundle', async () => {
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules:\n  - name: k\n    match: { brokerKey: ci-legacy }\n    grant: { repos: [deploy-configs], permission: write, maxTtl: 1h }\n')
    writeFileSync(join(dir, 'entry.ts'), "import policy from './policy.yaml'\nconsole.log(JSON.stringify(policy))\n")
    const result = await bundleFunction('plugin-ok', { entry: join(dir, 'entry.ts'), outdir: join(dir, 'ok') })
    const code = await readFile(result.outfile, 'utf8')
    expect(code).toContain('deploy-configs')
    expect(code).not.toContain('maxTtl: 1h')
  })

  it('fails the build on an invalid policy, naming rule and field', async () => {
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nissuers: { github: { preset: github } }\nrules:\n  - name: open\n    match: { issuer: github, claims: { ref: refs/heads/main } }\n    grant: { repos: [deploy-configs], permission: write, maxTtl: 1h }\n')
    writeFileSync(join(dir, 'entry.ts'), "import policy from './policy.yaml'\nconsole.log(policy)\n")
    await expect(bundleFunction('plugin-bad', { entry: join(dir, 'entry.ts'), outdir: join(dir, 'bad') })).rejects.toThrow(
      /rule "open" \(rules\[0\]\) match\.claims: a github rule must pin the caller/,
    )
  })
})
