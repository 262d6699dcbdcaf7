/**
 * The token and deploy apps as one process serves them outside Lambda: the
 * same app factories the Lambda handlers use, over dependencies shared by
 * both (one authenticator, one workspace token, one githosted client
 * factory). `npm start` (broker.ts) and the attack harness in test/ build
 * their brokers through here, so the two cannot wire the apps differently.
 */
import type { Logger } from '../functions/lib/observability/logger.js'
import type { Authenticator } from '../functions/lib/auth/types.js'
import type { ApplyResult } from '../functions/lib/deploys/apply.js'
import type { ConfigLayout } from '../functions/lib/deploys/change.js'
import type { DeployCoordination } from '../functions/lib/deploys/coordination.js'
import { createScopedRepoProvider } from '../functions/lib/deploys/scoped-repo.js'
import type { RateLimiter } from '../functions/lib/limits/rate-limiter.js'
import type { GithostedClientFactory } from '../functions/lib/githosted/types.js'
import type { Policy } from '../functions/lib/policy/types.js'
import type { SecretSource } from '../functions/lib/secrets/source.js'
import type { OwnershipStore } from '../functions/lib/tokens/ownership.js'
import { createDeployApp } from '../functions/deploy/app.js'
import { createTokenApp } from '../functions/token/app.js'

export interface FunctionAppParts {
  authenticator: Authenticator
  policy: Policy
  workspaceToken: SecretSource
  githosted: GithostedClientFactory
  /** Each app logs as a child with its function's name. */
  logger: Logger
  limits: { token: RateLimiter; deploy: RateLimiter; sourceIp: RateLimiter }
  ownership?: OwnershipStore
  coordination?: DeployCoordination<ApplyResult>
  layout?: ConfigLayout
}

export function createFunctionApps(parts: FunctionAppParts) {
  const { authenticator, policy, workspaceToken, githosted, logger, limits } = parts
  return {
    token: createTokenApp({
      authenticator,
      policy,
      workspaceToken,
      githosted,
      logger: logger.child({ fn: 'token' }),
      rateLimiter: limits.token,
      ipRateLimiter: limits.sourceIp,
      ...(parts.ownership ? { ownership: parts.ownership } : {}),
    }),
    deploy: createDeployApp({
      authenticator,
      policy,
      repos: createScopedRepoProvider({ workspaceToken, githosted }),
      logger: logger.child({ fn: 'deploy' }),
      rateLimiter: limits.deploy,
      ipRateLimiter: limits.sourceIp,
      ...(parts.coordination ? { coordination: parts.coordination } : {}),
      ...(parts.layout ? { layout: parts.layout } : {}),
    }),
  }
}
