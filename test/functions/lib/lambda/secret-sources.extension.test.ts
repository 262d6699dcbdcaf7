/**
 * SECRETS_SOURCE selection in secretSources: the extension mode reads through
 * the (fake) extension and never builds an SDK client; the default stays on
 * the SDK; an unknown value fails closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../functions/lib/errors.js'
import { secretSources, secretsSourceKind } from '../../../../functions/lib/lambda/secret-sources.js'
import { startFakeSecretsExtension, type FakeSecretsExtension } from '../../../helpers/fake-secrets-extension.js'

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:a'

let ext: FakeSecretsExtension
beforeAll(async () => {
  ext = await startFakeSecretsExtension({ [ARN]: 'from-extension' })
})
afterAll(async () => {
  await ext.close()
})

describe('secretSources and SECRETS_SOURCE', () => {
  it("reads through the extension when SECRETS_SOURCE=extension, building no SDK client", async () => {
    let built = 0
    const env = {
      SECRETS_SOURCE: ' extension ',
      AWS_SESSION_TOKEN: ext.sessionToken,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(ext.port),
    }
    const cached = secretSources(
      60_000,
      () => {
        built++
        throw new Error('the SDK client must not be built in extension mode')
      },
      env,
    )
    const source = cached(ARN, 'a')
    expect(await source.get()).toBe('from-extension')
    expect(await source.get()).toBe('from-extension')
    expect(ext.calls).toEqual([ARN])
    expect(built).toBe(0)
  })

  it('uses the SDK when SECRETS_SOURCE is unset, blank or sdk', async () => {
    for (const env of [{}, { SECRETS_SOURCE: '' }, { SECRETS_SOURCE: 'sdk' }]) {
      expect(secretsSourceKind(env)).toBe('sdk')
      let built = 0
      const cached = secretSources(
        0,
        () => {
          built++
          throw new Error('no client here')
        },
        env,
      )
      await cached(ARN, 'a').get().catch(() => undefined)
      expect(built, JSON.stringify(env)).toBe(1)
    }
  })

  it('fails closed on an unknown SECRETS_SOURCE, without echoing it', () => {
    expect(() => secretSources(0, undefined, { SECRETS_SOURCE: 'ssm-param-store' })).toThrow(ConfigError)
    expect(() => secretsSourceKind({ SECRETS_SOURCE: 'ssm-param-store' })).toThrow(/SECRETS_SOURCE must be/)
    try {
      secretsSourceKind({ SECRETS_SOURCE: 'ssm-param-store' })
    } catch (err) {
      expect((err as Error).message).not.toContain('ssm-param-store')
    }
  })
})
