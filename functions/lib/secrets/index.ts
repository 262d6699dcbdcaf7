/** Secret sources shared by all functions. */
export { createCachedSecret, staticSecret } from './source.js'
export type { CachedSecretOptions, SecretFetcher, SecretSource } from './source.js'
export { secretsManagerFetcher } from './secrets-manager.js'
export type { SecretsManagerFetcherOptions } from './secrets-manager.js'
