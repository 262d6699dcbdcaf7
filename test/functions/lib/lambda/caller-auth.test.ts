import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { brokerKeysSecretArn, requiredOidcAudience } from '../../../../functions/lib/lambda/config.js'
import { envVars } from '../../../../functions/lib/lambda/config.js'
import { keysOnlyPolicy as keysOnly, oidcOnlyPolicy as oidcOnly } from '../../../fixtures/policies.js'

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys'

describe('brokerKeysSecretArn', () => {
  it('is required when the policy has broker-key rules, optional otherwise', () => {
    expect(() => brokerKeysSecretArn(envVars({}), keysOnly)).toThrow(ConfigError)
    expect(brokerKeysSecretArn(envVars({ BROKER_KEYS_SECRET_ARN: ARN }), keysOnly)).toBe(ARN)
    expect(brokerKeysSecretArn(envVars({}), oidcOnly)).toBeUndefined()
    expect(brokerKeysSecretArn(envVars({ BROKER_KEYS_SECRET_ARN: ARN }), oidcOnly)).toBe(ARN)
  })
})

describe('requiredOidcAudience', () => {
  it('is required when the policy trusts issuers and ignored otherwise', () => {
    expect(() => requiredOidcAudience(envVars({}), oidcOnly)).toThrow('OIDC_AUDIENCE (the policy trusts OIDC issuers)')
    expect(requiredOidcAudience(envVars({ OIDC_AUDIENCE: 'aud' }), oidcOnly)).toBe('aud')
    expect(requiredOidcAudience(envVars({ OIDC_AUDIENCE: 'aud' }), keysOnly)).toBeUndefined()
  })
})
