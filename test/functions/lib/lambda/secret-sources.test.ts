import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, describe, expect, it } from 'vitest'
import { secretSources } from '../../../../functions/lib/lambda/secret-sources.js'

const sm = mockClient(SecretsManagerClient)
const ARN_A = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:a'
const ARN_B = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:b'

describe('secretSources', () => {
  afterEach(() => sm.reset())

  it('builds one shared client, only on the first read, and caches each value', async () => {
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: `value of ${input.SecretId}` }))
    let built = 0
    const cached = secretSources(60_000, () => {
      built++
      return new SecretsManagerClient({ region: 'eu-west-1' })
    })
    const a = cached(ARN_A, 'a')
    const b = cached(ARN_B, 'b')
    expect(built).toBe(0)
    expect(await a.get()).toBe(`value of ${ARN_A}`)
    expect(await b.get()).toBe(`value of ${ARN_B}`)
    await a.get()
    expect(built).toBe(1)
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([ARN_A, ARN_B])
  })

  it('names the label, not the ARN, when the secret is missing', async () => {
    const err = Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' })
    sm.on(GetSecretValueCommand).rejects(err)
    const cached = secretSources(0, () => new SecretsManagerClient({ region: 'eu-west-1' }))
    const failure = (await cached(ARN_A, 'workspace token').get().catch((e: unknown) => e)) as Error
    expect(failure.message).toContain('workspace token')
    expect(failure.message).not.toContain('arn:aws')
  })
})
