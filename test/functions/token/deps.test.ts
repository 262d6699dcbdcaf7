import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../functions/lib/errors.js'
import { buildTokenDeps, readTokenConfig } from '../../../functions/token/deps.js'
import { keysOnlyPolicy as keysOnly, oidcOnlyPolicy as withOidc } from '../../fixtures/policies.js'

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'
const STATE = { STATE_TABLE_NAME: 't', AWS_REGION: 'eu-west-1' }

function configError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('readTokenConfig', () => {
  it('names each missing variable and why it is needed', () => {
    expect(configError(() => readTokenConfig({}, keysOnly))).toContain('WORKSPACE_TOKEN_SECRET_ARN')
    expect(configError(() => readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, ...STATE }, keysOnly))).toContain(
      'BROKER_KEYS_SECRET_ARN (the policy has broker-key rules)',
    )
    expect(configError(() => readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, ...STATE }, withOidc))).toContain('OIDC_AUDIENCE')
    expect(
      configError(() =>
        readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, BROKER_KEYS_SECRET_ARN: ARN, SECRET_CACHE_TTL_SECONDS: '5m', ...STATE }, keysOnly),
      ),
    ).toContain('SECRET_CACHE_TTL_SECONDS')
    // Guarantees across containers depend on the table: no silent per-container fallback.
    expect(configError(() => readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, BROKER_KEYS_SECRET_ARN: ARN }, keysOnly))).toContain('STATE_TABLE_NAME')
    expect(configError(() => readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, BROKER_KEYS_SECRET_ARN: ARN, STATE_TABLE_NAME: 't' }, keysOnly))).toContain('AWS_REGION')
  })

  it('applies defaults', () => {
    expect(readTokenConfig({ WORKSPACE_TOKEN_SECRET_ARN: ARN, OIDC_AUDIENCE: 'aud', ...STATE }, withOidc)).toEqual({
      workspaceTokenSecretArn: ARN,
      oidcAudience: 'aud',
      githostedUrl: 'https://api.githosted.dev',
      secretCacheTtlMs: 300_000,
      state: { tableName: 't', region: 'eu-west-1' },
    })
  })

  it('builds deps without touching the network', async () => {
    let built = 0
    const deps = buildTokenDeps({ WORKSPACE_TOKEN_SECRET_ARN: ARN, BROKER_KEYS_SECRET_ARN: ARN, ...STATE }, keysOnly, {
      secretsManager: () => {
        built++
        throw new Error('not expected')
      },
    })
    expect(deps.policy).toBe(keysOnly)
    expect(built).toBe(0)
    // The SDK client is only built when a secret is first read.
    await expect(deps.workspaceToken.get()).rejects.toThrow('not expected')
    expect(built).toBe(1)
  })
})
