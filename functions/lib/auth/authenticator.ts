/**
 * The Authenticator contract: turns an Authorization header into a
 * CallerIdentity. `Bearer gbk_…` is a broker key, `Bearer eyJ…` an OIDC ID
 * token; anything else is refused with a reason. OIDC tokens presented to
 * mint are single use, unless the caller releases the claim because nothing
 * was minted.
 */
import type { Logger } from '../observability/logger.js'
import { AppError } from '../errors.js'
import { brokerKeyId, matchBrokerKey, type StoredKey } from './broker-keys.js'
import {
  BrokerKeyInvalidError,
  BrokerKeysUnavailableError,
  CredentialMalformedError,
  CredentialMissingError,
  OidcReplayedError,
  OidcUnknownIssuerError,
  ReplayStoreUnavailableError,
} from './errors.js'
import { createOidcVerifier, type OidcVerifier, type OidcVerifierOptions } from './oidc.js'
import { presetFor } from './presets.js'
import { replayKey, type ReplayStore } from './replay.js'
import type { AuthPurpose, Authenticator, CallerIdentity } from './types.js'

export interface AuthenticatorOptions {
  /** Trusted issuers and the broker's audience; without it OIDC tokens are refused. */
  oidc?: OidcVerifierOptions
  /** Stored broker keys (the token app loads them from a secret); without it keys are refused. */
  brokerKeys?: () => Promise<readonly StoredKey[]> | readonly StoredKey[]
  replayStore: ReplayStore
  logger?: Logger
}

/** Longest Authorization value we look at; real CI ID tokens are 1-3 KB. */
const MAX_CREDENTIAL_LENGTH = 16 * 1024
const BEARER_RE = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** Builds an {@link Authenticator}. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const verifier: OidcVerifier | undefined = options.oidc ? createOidcVerifier(options.oidc) : undefined
  const logger = options.logger
  // Mint claims this authenticator took, by the identity it returned: only
  // those can be released, and only once. Weak, so identities are not kept.
  const claimsTaken = new WeakMap<CallerIdentity, string>()

  async function byBrokerKey(key: string): Promise<CallerIdentity> {
    if (!options.brokerKeys) {
      throw new BrokerKeyInvalidError('broker keys are not accepted here')
    }
    let stored: readonly StoredKey[]
    try {
      stored = await options.brokerKeys()
    } catch (err) {
      logger?.warn('broker keys could not be loaded', { error: err })
      if (err instanceof AppError && err.status === 503) throw err
      throw new BrokerKeysUnavailableError('broker keys could not be loaded', { cause: err })
    }
    const match = matchBrokerKey(key, stored)
    if (!match) {
      throw new BrokerKeyInvalidError('broker key is not valid (unknown, revoked or malformed)')
    }
    return {
      kind: 'broker-key',
      keyName: match.name,
      subject: `key:${match.name}`,
      claims: { keyName: match.name },
      credentialId: brokerKeyId(match.sha256),
    }
  }

  async function byOidc(token: string, purpose: AuthPurpose, alongside?: (identity: CallerIdentity) => Promise<void>): Promise<CallerIdentity> {
    if (!verifier) throw new OidcUnknownIssuerError('OIDC tokens are not accepted here')
    const verified = await verifier.verify(token)
    const { issuer, claims } = verified
    const preset = presetFor(issuer)
    const credentialId = replayKey({ issuer: issuer.url, claims, signature: verified.signature })
    const identity: CallerIdentity = {
      kind: 'oidc',
      issuer: issuer.url,
      provider: issuer.preset === 'custom' ? issuer.name : issuer.preset,
      subject: preset.subject(claims, issuer),
      stableId: preset.stableId(claims, issuer),
      claims,
      credentialId,
    }
    const runUrl = preset.ciRunUrl(claims, issuer)
    if (runUrl) identity.ciRunUrl = runUrl
    if (purpose !== 'mint') {
      await alongside?.(identity)
      return identity
    }
    // The claim and the caller's own check (the shared rate limit) go out
    // together: one round trip to the shared store instead of two.
    const [claim, other] = await Promise.allSettled([claimOnce(credentialId, verified.acceptableUntil), alongside?.(identity)])
    if (claim.status === 'rejected') throw claim.reason
    if (other.status === 'rejected') {
      // The token was not used for anything: give its single use back.
      await options.replayStore.release?.(credentialId).catch((err: unknown) => logger?.warn('could not release an OIDC claim', { error: err }))
      throw other.reason
    }
    claimsTaken.set(identity, credentialId)
    return identity
  }

  async function claimOnce(credentialId: string, until: Date): Promise<void> {
    let first: boolean
    try {
      first = await options.replayStore.claim(credentialId, until)
    } catch (err) {
      logger?.warn('replay store unavailable', { error: err })
      if (err instanceof ReplayStoreUnavailableError) throw err
      throw new ReplayStoreUnavailableError('replay store did not answer', { cause: err })
    }
    if (!first) {
      throw new OidcReplayedError(
        'this OIDC token was already used to mint; request a fresh ID token for each mint',
      )
    }
  }

  return {
    async authenticate(authorization, purpose, authOptions) {
      if (authorization === undefined || authorization.trim() === '') {
        throw new CredentialMissingError(
          'missing credential: send "Authorization: Bearer <OIDC ID token or broker key>"',
        )
      }
      if (authorization.length > MAX_CREDENTIAL_LENGTH) {
        throw new CredentialMalformedError('Authorization header is too long')
      }
      const credential = BEARER_RE.exec(authorization)?.[1]
      if (!credential) {
        throw new CredentialMalformedError('Authorization must be "Bearer <credential>"')
      }
      try {
        if (credential.startsWith('gbk_')) {
          const identity = await byBrokerKey(credential)
          await authOptions?.alongside?.(identity)
          return identity
        }
        if (credential.startsWith('eyJ')) return await byOidc(credential, purpose, authOptions?.alongside)
      } catch (err) {
        if (err instanceof AppError) logger?.debug('authentication failed', { code: err.code })
        throw err
      }
      throw new CredentialMalformedError(
        'credential is neither a broker key (gbk_…) nor an OIDC ID token (JWT)',
      )
    },

    async releaseMint(identity) {
      const key = claimsTaken.get(identity)
      if (key === undefined) return
      // Forget it first: a second release must not free a later request's claim.
      claimsTaken.delete(identity)
      if (!options.replayStore.release) return
      try {
        await options.replayStore.release(key)
      } catch (err) {
        if (err instanceof ReplayStoreUnavailableError) throw err
        throw new ReplayStoreUnavailableError('replay store did not answer', { cause: err })
      }
    },
  }
}
