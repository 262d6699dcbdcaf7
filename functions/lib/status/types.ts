/**
 * The shapes the status API returns and the dashboard renders. They are a
 * superset of the seed dashboard's `{ environment, image, updatedAt }`, so a
 * consumer of the seed shape keeps working.
 */
import type { DeployTrailers } from '../deploys/trailers.js'

/** Something wrong with one environment (or the whole repo) that the reader can act on. */
export interface StatusProblem {
  /** Stable code, e.g. `INVALID_JSON`, `ENVIRONMENTS_DIR_MISSING`. */
  code: string
  /** One sentence for humans, naming the file. */
  message: string
}

/** A commit, as the status API shows it. */
export interface CommitSummary {
  sha: string
  shortSha: string
  /** ISO 8601; null when the server gave no time. */
  committedAt: string | null
  authorName: string
  authorEmail: string
  subject: string
  /** Deploy trailers, when the server returned the full message and it carried them. */
  trailers: DeployTrailers | null
}

/** The content of `holds/<env>.json`; every field optional because people write these by hand. */
export interface HoldInfo {
  reason?: string
  by?: string
  at?: string
}

/** One key a deploy changed, before and after (null: absent). */
export interface KeyChange {
  /** JSON pointer; '' when the file could not be read as JSON on one side. */
  pointer: string
  from: unknown
  to: unknown
}

/** One change to an environment, read back from the Git log. */
export interface DeployRecord {
  sha: string
  shortSha: string
  committedAt: string | null
  /** The requester trailer where present, else the commit author's name. */
  who: string
  authorName: string
  subject: string
  /** Image before and after this commit; null when unknown or absent. */
  from: string | null
  to: string | null
  /** Every key this commit changed (the image too), before -> after. */
  changes: KeyChange[]
  source?: string
  runUrl?: string
  reason?: string
  /** A promotion: the environment and commit its value came from (Deploy-Promoted-From). */
  promotedFrom?: { environment: string; commit: string; shortSha: string }
  /**
   * How `from`/`to` were learned: `trailers` (the Deploy-Change trailer) or
   * `content` (by reading the file at this commit and at its predecessor,
   * where the server returns only the subject or the commit has no trailers).
   */
  basis: 'trailers' | 'content'
}

export interface EnvironmentStatus {
  environment: string
  /** Path of the environment file in the repo. */
  path: string
  /** `image` from the file; null when the file is broken or has none. */
  image: string | null
  /** The head the file was read at (the same for every environment of one report). */
  headSha: string
  /** Time of the last commit that touched the file (ISO 8601); the seed shape's field. */
  updatedAt: string | null
  lastCommit: CommitSummary | null
  held: boolean
  hold: HoldInfo | null
  /** Set when this environment could not be read as expected; the others still show. */
  problem?: StatusProblem
  /** Recent deploys, newest first (only when asked for). */
  history?: DeployRecord[]
  /**
   * Where the image came from: the commit that last set it and how (a deploy,
   * an event, a rollback, or a promotion from another environment's commit).
   * Null when the recent history does not say (no full messages from the server).
   */
  lineage: ValueLineage | null
}

export interface ValueLineage {
  commit: string
  shortSha: string
  committedAt: string | null
  /** The Deploy-Source trailer: api, event, ci-job, rollback, promotion. */
  source: string
  by?: string
  promotedFrom?: { environment: string; commit: string; shortSha: string }
  /** The digest recorded with the image (Deploy-Image-Digest). */
  digest?: string
}

export interface StatusReport {
  repo: string
  /** Head of the default branch the whole report was read at; null for an empty repo. */
  headSha: string | null
  environments: EnvironmentStatus[]
  /** Set when the repo as a whole is not as expected (empty, no environments folder). */
  problem?: StatusProblem
}

export interface HistoryReport {
  repo: string
  environment: string
  headSha: string | null
  deploys: DeployRecord[]
}
