/**
 * The status use cases, free of any web framework: authenticate a reader,
 * the report of every environment, one environment's history, and the
 * dashboard's report. The Hono app (functions/status/app.ts) maps HTTP onto
 * them.
 *
 * Every read opens the repo on the read-only `gr_` token (never the workspace
 * token) and reads the head first: a caller whose ETag names that head is
 * answered from one `Log` call, and everything else is read at that head, so
 * one report never mixes two states (report.ts). Reads change nothing and
 * are not audited; the request log says who asked.
 */
import { createLogger, type Logger } from '../observability/logger.js'
import type { CallContext } from '../audit/audited.js'
import type { Authenticator, CallerIdentity } from '../auth/types.js'
import { createTokenBucketLimiter, enforceRateLimit, rateLimitKey, SOURCE_IP_LIMIT, type RateLimiter } from '../limits/rate-limiter.js'
import { ForbiddenError, NotFoundAppError, ValidationError } from '../errors.js'
import { UnauthenticatedError } from '../githosted/errors.js'
import type { GithostedClient, GithostedClientFactory, RepoHandle } from '../githosted/types.js'
import type { Policy } from '../policy/types.js'
import { isRepoSlug } from '../repo-ref.js'
import type { SecretSource } from '../secrets/index.js'
import { etagFor, ifNoneMatchMatches } from './etag.js'
import { assertEnvironmentName, DEFAULT_LAYOUT, type StatusLayout } from './layout.js'
import { createLimiter } from './limiter.js'
import { assertRepoToken } from './read-token.js'
import { readHead, readHistoryReport, readStatusReport } from './report.js'
import { createSnapshotCache } from './snapshot-cache.js'
import type { HistoryReport, StatusReport } from './types.js'

export const DEFAULT_STATUS_REPO = 'deploy-configs'

export interface StatusServiceDeps {
  /** The read-only `gr_` token (DASHBOARD_TOKEN_SECRET_ARN). */
  readToken: SecretSource
  githosted: GithostedClientFactory
  /** Authenticates JSON API callers (OIDC or broker key), purpose `read`. */
  authenticator: Authenticator
  /** When given, API callers also need `authorizeRead` to allow the repo. */
  policy?: Pick<Policy, 'authorizeRead'>
  /** Repo shown by default (STATUS_REPO). Default `deploy-configs`. */
  repo?: string
  /** Repos `?repo=` may name. Default: only `repo`. */
  repos?: string[]
  layout?: StatusLayout
  logger?: Logger
  clock?: () => Date
  /** Most upstream calls in flight per request. Default 6. */
  concurrency?: number
  /** Deploys shown per environment on the dashboard. Default 5. */
  pageHistoryLimit?: number
  /** Per-identity limiter for the JSON API (keyed by rateLimitKey). Default: burst 30, 120 per minute. */
  rateLimiter?: RateLimiter
  /** Pre-authentication limiter per source IP, API and dashboard. Default: SOURCE_IP_LIMIT. */
  ipRateLimiter?: RateLimiter
}

/** A conditional read: the caller's ETag still names the head, or what was read at it. */
export type ConditionalRead<T> = { notModified: true; etag: string } | { notModified: false; etag: string; report: T }

/** One JSON API read; the query values as the caller sent them, checked here. */
export interface ApiRead extends CallContext {
  identity: CallerIdentity
  /** The repo asked for; default the configured one. */
  repo?: string | undefined
  ifNoneMatch?: string | undefined
}

export interface StatusService {
  /** The repo the dashboard shows. */
  readonly repo: string
  /** The limiter the edge applies per source address before authentication. */
  readonly ipRateLimiter: RateLimiter
  /** Authenticates for a read (never consuming a single-use token) and takes from the identity's limit. */
  authenticate(authorization: string | undefined): Promise<CallerIdentity>
  /** Every environment; `history` (0-20, default 0) adds each one's recent deploys. */
  status(read: ApiRead & { history?: string | undefined }): Promise<ConditionalRead<StatusReport>>
  /** One environment's deploys, newest first; `limit` 1-100, default 20. */
  history(read: ApiRead & { environment: string; limit?: string | undefined }): Promise<ConditionalRead<HistoryReport>>
  /** The default repo's report with the dashboard's history depth (its viewers are not API callers). */
  dashboard(ifNoneMatch?: string): Promise<ConditionalRead<StatusReport>>
}

export function createStatusService(deps: StatusServiceDeps): StatusService {
  const defaultRepo = deps.repo ?? DEFAULT_STATUS_REPO
  const allowedRepos = new Set(deps.repos ?? [defaultRepo])
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const logger = deps.logger ?? createLogger()
  const clock = deps.clock ?? (() => new Date())
  const concurrency = deps.concurrency ?? 6
  const pageHistoryLimit = deps.pageHistoryLimit ?? 5
  const reports = createSnapshotCache<StatusReport>()
  const rateLimiter = deps.rateLimiter ?? createTokenBucketLimiter({ capacity: 30, refillPerMinute: 120, clock })
  let current: { token: string; client: GithostedClient } | undefined

  /** A repo handle on the read token; a rejected token is refetched next time (rotation). */
  async function openRepo(slug: string): Promise<RepoHandle> {
    const token = assertRepoToken(await deps.readToken.get())
    if (current?.token !== token) current = { token, client: deps.githosted(token) }
    return current.client.repo(slug)
  }

  /** Reads the head; answers from it alone when `ifNoneMatch` names it, else reads the rest at it. */
  async function readAtHead<T>(
    slug: string,
    variant: string,
    ifNoneMatch: string | undefined,
    read: (handle: RepoHandle, head: string | null) => Promise<T>,
  ): Promise<ConditionalRead<T>> {
    try {
      const handle = await openRepo(slug)
      const head = await readHead(handle, createLimiter(1))
      const etag = etagFor(variant, head)
      if (ifNoneMatchMatches(ifNoneMatch, etag)) return { notModified: true, etag }
      return { notModified: false, etag, report: await read(handle, head) }
    } catch (err) {
      if (err instanceof UnauthenticatedError) deps.readToken.invalidate()
      throw err
    }
  }

  function statusReport(handle: RepoHandle, slug: string, head: string | null, historyLimit: number) {
    // One limiter per report: the bound is per request, not shared across viewers.
    return reports.get(`${slug}\n${historyLimit}\n${head ?? ''}`, () =>
      readStatusReport(handle, head, { repo: slug, limit: createLimiter(concurrency), layout, historyLimit }),
    )
  }

  /** The repo an API caller may read: a slug this endpoint serves, allowed by the policy. */
  function readableRepo(read: ApiRead): string {
    const slug = read.repo ?? defaultRepo
    if (!isRepoSlug(slug)) throw new ValidationError('repo must be a repo slug', 'repo')
    if (!allowedRepos.has(slug)) throw new NotFoundAppError(`repo ${slug} is not shown by this status endpoint`)
    const decision = deps.policy?.authorizeRead(read.identity, slug)
    if (decision && !decision.allowed) {
      // The caller gets decision.reason (generic unless a rule is meant for it); operators get the trace.
      logger.info('status read denied', { requestId: read.requestId, trace: decision.trace })
      throw new ForbiddenError(decision.reason)
    }
    return slug
  }

  return {
    repo: defaultRepo,
    ipRateLimiter: deps.ipRateLimiter ?? createTokenBucketLimiter({ ...SOURCE_IP_LIMIT, clock }),

    async authenticate(authorization) {
      const identity = await deps.authenticator.authenticate(authorization, 'read')
      await enforceRateLimit(rateLimiter, rateLimitKey(identity), 'status requests')
      return identity
    },

    async status(read) {
      const slug = readableRepo(read)
      const historyLimit = intParam(read.history, 'history', 0, 0, 20)
      return readAtHead(slug, `status.h${historyLimit}`, read.ifNoneMatch, (handle, head) =>
        statusReport(handle, slug, head, historyLimit),
      )
    },

    async history(read) {
      const slug = readableRepo(read)
      const environment = assertEnvironmentName(read.environment)
      const historyLimit = intParam(read.limit, 'limit', 20, 1, 100)
      return readAtHead(slug, `history.${environment}.l${historyLimit}`, read.ifNoneMatch, (handle, head) =>
        readHistoryReport(handle, head, environment, { repo: slug, limit: createLimiter(concurrency), layout, historyLimit }),
      )
    },

    dashboard: (ifNoneMatch) =>
      readAtHead(defaultRepo, `fragment.h${pageHistoryLimit}`, ifNoneMatch, (handle, head) =>
        statusReport(handle, defaultRepo, head, pageHistoryLimit),
      ),
  }
}

function intParam(raw: string | undefined, field: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ValidationError(`${field} must be an integer from ${min} to ${max}`, field)
  }
  return Number(raw)
}
