/**
 * What `npm start` needs to run the status app locally: a read-only `gr_`
 * token minted for it (the status app never sees the workspace token), a
 * fresh viewer credential, and the dashboard URL to print. Not part of the
 * Lambda bundle (handler.ts does not import it).
 */
import type { Logger } from '../lib/observability/logger.js'
import type { Authenticator } from '../lib/auth/types.js'
import { Client } from '../lib/githosted/index.js'
import type { Policy } from '../lib/policy/types.js'
import { staticSecret } from '../lib/secrets/index.js'
import { createViewerAccess, generateViewerCredential } from '../lib/status/viewer-access.js'
import { DEFAULT_STATUS_REPO } from '../lib/status/service.js'
import { createStatusApp, type StatusAppDeps } from './app.js'
import { readClientFactory } from './deps.js'

export interface LocalStatusOptions {
  githostedUrl: string
  /** A write `gw_` token, used once here to mint the dashboard's read-only `gr_` token. */
  workspaceToken: string
  /** The same authenticator the other local apps use (broker key, local OIDC issuer). */
  authenticator: Authenticator
  policy?: Pick<Policy, 'authorizeRead'>
  repo?: string
  logger?: Logger
  /** Hours the minted read token lives. Default 24 (restarts mint a new one; old ones expire). */
  readTokenTtlHours?: number
  /** The status app's limits (the shared ones under `npm start`). */
  limits?: Pick<StatusAppDeps, 'rateLimiter' | 'ipRateLimiter'>
}

export interface LocalStatus {
  app: ReturnType<typeof createStatusApp>
  /** Prefix of the minted read token's record (never the token itself). */
  readTokenPrefix: string
  /** The URL to print: `<baseUrl>/?key=<viewer credential>`; it opens the dashboard as is. */
  dashboardUrl(baseUrl: string): string
}

/** Mints the read token, makes a viewer credential and builds the status app. */
export async function createLocalStatus(options: LocalStatusOptions): Promise<LocalStatus> {
  const repo = options.repo ?? DEFAULT_STATUS_REPO
  const admin = new Client({ token: options.workspaceToken, baseUrl: options.githostedUrl, clientName: 'npm-start' })
  const issued = await admin.createToken({
    name: 'dashboard-local',
    kind: 'repo',
    permission: 'read',
    repoAllowlist: [repo],
    ttlHours: options.readTokenTtlHours ?? 24,
  })
  const viewer = generateViewerCredential()
  const app = createStatusApp({
    readToken: staticSecret(issued.token),
    githosted: readClientFactory(options.githostedUrl),
    authenticator: options.authenticator,
    ...(options.policy ? { policy: options.policy } : {}),
    viewer: createViewerAccess({ hash: staticSecret(viewer.sha256) }),
    repo,
    ...(options.logger ? { logger: options.logger } : {}),
    ...options.limits,
  })
  return {
    app,
    readTokenPrefix: issued.record.prefix,
    dashboardUrl: (baseUrl) => `${baseUrl.replace(/\/+$/, '')}/?key=${encodeURIComponent(viewer.credential)}`,
  }
}
