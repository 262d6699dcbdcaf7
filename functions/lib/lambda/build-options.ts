/** Seams every `build<Fn>Deps` accepts, so tests can replace what would reach AWS or stdout. */
import type { Logger } from '../observability/logger.js'
import type { SecretsManagerProvider } from './secret-sources.js'

export interface BuildOptions {
  logger?: Logger
  /** Secrets Manager client factory (tests point it elsewhere); default: SDK defaults from env. */
  secretsManager?: SecretsManagerProvider
}
