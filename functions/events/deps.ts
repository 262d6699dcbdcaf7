/**
 * Builds the events function's dependencies from the Lambda environment:
 * WORKSPACE_TOKEN_SECRET_ARN, SECRET_CACHE_TTL_SECONDS, GITHOSTED_URL
 * (notes/ENV-CONTRACT.md). Nothing touches the network here.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { createLogger, type Logger } from '../lib/audit/logger.js'
import { createScopedRepoProvider } from '../lib/deploys/scoped-repo.js'
import { ConfigError } from '../lib/errors.js'
import { createCachedSecret } from '../lib/secrets/source.js'
import { secretsManagerFetcher } from '../lib/secrets/secrets-manager.js'
import { clientFactory } from '../deploy/deps.js'
import type { EventsDeps } from './app.js'
import type { DeployMapping } from './mapping.js'

export type Env = Record<string, string | undefined>

export interface BuildOptions {
  logger?: Logger
  secretsManager?: () => SecretsManagerClient | Promise<SecretsManagerClient>
}

export function buildEventsDeps(env: Env, mapping: DeployMapping, options: BuildOptions = {}): EventsDeps {
  const arn = env.WORKSPACE_TOKEN_SECRET_ARN?.trim()
  if (!arn) throw new ConfigError('Missing environment variable WORKSPACE_TOKEN_SECRET_ARN (the secret holding the workspace token).')
  const ttlText = env.SECRET_CACHE_TTL_SECONDS?.trim() || '300'
  if (!/^\d+$/.test(ttlText) || Number(ttlText) > 86_400) {
    throw new ConfigError('SECRET_CACHE_TTL_SECONDS must be a whole number of seconds between 0 and 86400.')
  }
  const githostedUrl = env.GITHOSTED_URL?.trim() || 'https://api.githosted.dev'
  if (!URL.canParse(githostedUrl)) throw new ConfigError('GITHOSTED_URL is not a URL.')
  let smClient: Promise<SecretsManagerClient> | undefined
  const sm = () =>
    (smClient ??= options.secretsManager
      ? Promise.resolve(options.secretsManager())
      : import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({})))
  const workspaceToken = createCachedSecret(secretsManagerFetcher(sm, arn, { label: 'workspace token' }), { ttlMs: Number(ttlText) * 1000 })
  return {
    mapping,
    repos: createScopedRepoProvider({ workspaceToken, githosted: clientFactory(githostedUrl) }),
    logger: options.logger ?? createLogger({ base: { fn: 'events' } }),
  }
}
