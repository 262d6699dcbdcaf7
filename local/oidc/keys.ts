/**
 * The local issuer's signing keys: one RS256 and one ES256 key, each with a
 * `kid`. Rotation makes new keys (optionally still publishing the old public
 * keys, as real issuers do during a rollover).
 */
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'

export type SigningAlg = 'RS256' | 'ES256'

export interface SigningKey {
  alg: SigningAlg
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

async function makeKey(alg: SigningAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const kid = randomBytes(8).toString('hex')
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicJwk }
}

export class KeyRing {
  private current: Record<SigningAlg, SigningKey> | undefined
  private retired: JWK[] = []

  async init(): Promise<void> {
    this.current = { RS256: await makeKey('RS256'), ES256: await makeKey('ES256') }
  }

  /** The active key for an algorithm. */
  key(alg: SigningAlg): SigningKey {
    if (!this.current) throw new Error('key ring not initialised')
    return this.current[alg]
  }

  /** New keys for both algorithms; old public keys stay published only if `keepPrevious`. */
  async rotate(keepPrevious = false): Promise<void> {
    const old = this.current
    await this.init()
    this.retired = keepPrevious && old ? [...this.retired, old.RS256.publicJwk, old.ES256.publicJwk] : []
  }

  /** The published key set. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.key('RS256').publicJwk, this.key('ES256').publicJwk, ...this.retired] }
  }
}
