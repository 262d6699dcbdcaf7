/** Authentication: OIDC ID tokens from CI platforms and broker API keys. */
export { createAuthenticator, type AuthenticatorOptions } from './authenticator.js'
export {
  BROKER_KEY_RE,
  brokerKeyId,
  generateBrokerKey,
  hashBrokerKey,
  matchBrokerKey,
  parseStoredKeys,
  type StoredKey,
} from './broker-keys.js'
export * from './errors.js'
export { ALLOWED_ALGORITHMS, canonicalSignature, createOidcVerifier, type OidcVerifierOptions, type VerifiedToken } from './oidc.js'
export { defaultJwksCache, type JwksCache, type JwksOptions } from './jwks.js'
export { PRESETS, presetFor, type IssuerConfig, type PresetName } from './presets.js'
export { MemoryReplayStore, replayKey, type ReplayKeyInput, type ReplayStore } from './replay.js'
export type { AuthPurpose, Authenticator, CallerIdentity } from './types.js'
