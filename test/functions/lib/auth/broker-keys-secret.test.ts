import { describe, expect, it } from 'vitest'
import { hashBrokerKey } from '../../../../functions/lib/auth/broker-keys.js'
import { storedKeysFromSecret } from '../../../../functions/lib/auth/broker-keys-secret.js'
import { ConfigError } from '../../../../functions/lib/errors.js'
import type { SecretSource } from '../../../../functions/lib/secrets/source.js'

function mutableSecret(initial: string): SecretSource & { value: string } {
  const s = { value: initial, get: () => Promise.resolve(s.value), invalidate: () => {} }
  return s
}

const doc = (name: string) => JSON.stringify({ keys: [{ name, sha256: hashBrokerKey(`gbk_${name}`) }] })

describe('storedKeysFromSecret', () => {
  it('parses once per fetched value and again after rotation', async () => {
    const secret = mutableSecret(doc('ci-legacy'))
    const keys = storedKeysFromSecret(secret)
    const first = await keys()
    expect(first.map((k) => k.name)).toEqual(['ci-legacy'])
    expect(await keys()).toBe(first)
    secret.value = doc('ci-new')
    expect((await keys()).map((k) => k.name)).toEqual(['ci-new'])
  })

  it('refuses a value that is not JSON without echoing it', async () => {
    const keys = storedKeysFromSecret(mutableSecret('gbk_not-json'))
    const err = (await keys().catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).not.toContain('gbk_')
  })
})
