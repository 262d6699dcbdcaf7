/**
 * What the deploy core (apply.ts) takes and gives back: the request, its
 * dependencies with their defaults, and the result. A module of its own so
 * that the parts of the core can share them without importing the entry.
 */
import type { Logger } from '../observability/logger.js'
import type { RepoHandle } from '../githosted/types.js'
import type { ConfigChange, ConfigLayout } from './change.js'
import type { DeployCoordination } from './coordination.js'
import { RecentDeploys } from './recent.js'
import type { DeployTrailers } from './trailers.js'

export type DeploySource = 'api' | 'event' | 'rollback' | 'ci-job' | 'promotion'

/**
 * What to apply. The who/why fields go verbatim into the commit trailers;
 * `requester` is the caller identity (CallerIdentity.subject, event source),
 * `eventTime` the event's time (events) or the request's (defaults to now).
 */
export interface ApplyRequest
  extends Pick<DeployTrailers, 'requester' | 'runUrl' | 'eventId' | 'eventTime' | 'imageDigest' | 'idempotencyKey' | 'reason' | 'promotedFrom'> {
  environment: string
  change: ConfigChange
  source: DeploySource
  dryRun?: boolean
  /** Deploy despite a hold. Only pass true when the policy allowed the override. */
  overrideHold?: boolean
  /** Commit subject override (rollback uses its own wording). */
  subject?: string
}

export interface RetryPolicy {
  /** Write attempts in total (first write, stale-head retries and repairs). */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 25, baseDelayMs: 20, maxDelayMs: 800 }

export interface ApplyDeps {
  repo: RepoHandle
  /** The repo's slug, for cache keys and messages. */
  repoName: string
  layout?: ConfigLayout
  logger?: Logger
  clock?: () => Date
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  recent?: RecentDeploys<ApplyResult>
  retry?: Partial<RetryPolicy>
  author?: { name: string; email: string }
  /**
   * Shared across containers: the repo's write lease, idempotency records and
   * event-order marks (coordination.ts). Without it, only this process's
   * memory and the Git history guard them: unit tests only.
   */
  coordination?: DeployCoordination<ApplyResult>
}

export interface ApplyResult {
  repo: string
  environment: string
  path: string
  /** The new commit, or the commit at which the requested state already held. */
  commit: string
  changed: boolean
  /** Values of the changed keys before (pointer → value; null for an absent key). */
  previous: Record<string, unknown>
  current: Record<string, unknown>
  /** Why nothing was written although the change is not in place. */
  skipped?: 'held' | 'stale-event'
  reason?: string
  /** The original result's commit, when this is a replay of an idempotency key / event id. */
  replayed?: boolean
  dryRun?: boolean
  diff?: string
  /** The last repair commit, when the server ignored expectedHead and we restored others' changes. */
  repairCommit?: string
  /** Write attempts made (1 = first write landed) and stale-head retries / repairs among them. */
  attempts: number
  retries: number
  repairs: number
}

export const DEFAULT_AUTHOR = { name: 'githosted-ci-broker', email: 'deploys@githosted-ci-broker.invalid' }

const processRecent = new RecentDeploys<ApplyResult>()

/** This process's memory of recent deploys (replays and event-order marks): the deps' own, else one per process. */
export function recentDeploys(deps: ApplyDeps): RecentDeploys<ApplyResult> {
  return deps.recent ?? processRecent
}
