import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { mockClient } from 'aws-sdk-client-mock'
import { beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, DependencyUnavailableError } from '../../../../functions/lib/errors.js'
import { secretsManagerFetcher } from '../../../../functions/lib/secrets/secrets-manager.js'
import { createCachedSecret } from '../../../../functions/lib/secrets/source.js'

const sm = mockClient(SecretsManagerClient)
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/workspace-token-AbCdEf'

function awsError(name: string) {
  const e = new Error(`${name}: details with ${ARN}`)
  e.name = name
  return e
}

describe('secretsManagerFetcher', () => {
  beforeEach(() => sm.reset())

  it('makes exactly one GetSecretValue per cache period under concurrency', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'value-one' })
    let t = 0
    const source = createCachedSecret(secretsManagerFetcher(new SecretsManagerClient({}), ARN), {
      ttlMs: 300_000,
      clock: () => new Date(t),
    })
    const values = await Promise.all(Array.from({ length: 50 }, () => source.get()))
    expect(new Set(values)).toEqual(new Set(['value-one']))
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1)
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN })

    t += 299_999
    await Promise.all(Array.from({ length: 10 }, () => source.get()))
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1)

    t += 1
    await Promise.all(Array.from({ length: 10 }, () => source.get()))
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2)
  })

  it('builds the client lazily from a factory, once', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'v' })
    let built = 0
    const fetch = secretsManagerFetcher(() => {
      built++
      return new SecretsManagerClient({})
    }, ARN)
    expect(built).toBe(0)
    await fetch()
    await fetch()
    expect(built).toBe(1)
  })

  it('selects a JSON key when asked', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ token: 'inner' }) })
    expect(await secretsManagerFetcher(new SecretsManagerClient({}), ARN, { jsonKey: 'token' })()).toBe('inner')
    await expect(
      secretsManagerFetcher(new SecretsManagerClient({}), ARN, { jsonKey: 'missing' })(),
    ).rejects.toBeInstanceOf(ConfigError)
  })

  it('maps an outage to DependencyUnavailableError (503) without the ARN', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('ServiceUnavailable'))
    const err = await secretsManagerFetcher(new SecretsManagerClient({}), ARN, { label: 'workspace token' })().catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(DependencyUnavailableError)
    expect((err as DependencyUnavailableError).status).toBe(503)
    expect((err as Error).message).toContain('workspace token')
    expect((err as Error).message).not.toContain('arn:aws')
  })

  it('maps a wrong ARN or IAM policy to ConfigError (500)', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'))
    const err = await secretsManagerFetcher(new SecretsManagerClient({}), ARN)().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toContain('AccessDeniedException')
    expect((err as Error).message).not.toContain('arn:aws')
  })

  it('rejects a secret without SecretString', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) })
    await expect(secretsManagerFetcher(new SecretsManagerClient({}), ARN)()).rejects.toBeInstanceOf(ConfigError)
  })
})
