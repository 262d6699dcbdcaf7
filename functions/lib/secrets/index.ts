/** Secret sources shared by all functions. */
export { createCachedSecret, staticSecret } from './source.js'
export type { CachedSecretOptions, SecretFetcher, SecretSource } from './source.js'
export { secretsManagerFetcher } from './secrets-manager.js'
export type { SecretsManagerFetcherOptions } from './secrets-manager.js'
export { EXTENSION_DEFAULT_PORT, EXTENSION_TOKEN_HEADER, extensionFetcher } from './extension.js'
export type { ExtensionFetcherOptions } from './extension.js'
export { secretValue } from './secret-value.js'
