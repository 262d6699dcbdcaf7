/**
 * Reads the deployment state of a config repo as one consistent snapshot:
 * the head is read first, and every environment file, its last commit and
 * the holds are read at that head, so a deploy landing mid-read cannot mix
 * two states in one report (and the head SHA is a sound ETag).
 *
 * Content problems (a broken file, a missing folder, an empty repo) become
 * `problem`s in the report; upstream failures throw, so a transient error is
 * never cached behind the head's ETag.
 */
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { NotFoundAppError } from '../errors.js'
import { shortSha, summarizeCommit } from './commits.js'
import { parseEnvironmentFile } from './environment-file.js'
import { buildDeployRecords, logLimitFor } from './history.js'
import { LINEAGE_LOG_LIMIT, lineageOf } from './lineage.js'
import { readHolds } from './holds.js'
import {
  DEFAULT_LAYOUT,
  environmentFromFileName,
  environmentPath,
  type StatusLayout,
} from './layout.js'
import type { Limiter } from './limiter.js'
import { NotFoundError } from '../githosted/errors.js'
import type { EnvironmentStatus, HistoryReport, HoldInfo, StatusReport } from './types.js'

export interface ReadOptions {
  /** Repo slug, for the report and messages. */
  repo: string
  limit: Limiter
  layout?: StatusLayout
}

/**
 * The head commit of the default branch, or null when there is none. An empty
 * repo has no default branch yet, which githosted answers with `not_found`
 * just as it answers a repo that does not exist; the two cannot be told apart
 * reliably, so both read as "no commits" (and the message says so).
 */
export async function readHead(handle: RepoHandle, limit: Limiter): Promise<string | null> {
  try {
    const [head] = await limit(() => handle.log({ limit: 1 }))
    return head?.sha ?? null
  } catch (err) {
    if (err instanceof NotFoundError) return null
    throw err
  }
}

/**
 * The status of every environment at `head` (read it with `readHead` first,
 * so the caller can answer a matching If-None-Match without this).
 * `historyLimit` > 0 adds each environment's recent deploys.
 */
export async function readStatusReport(
  handle: RepoHandle,
  head: string | null,
  options: ReadOptions & { historyLimit?: number },
): Promise<StatusReport> {
  const { repo, limit } = options
  const layout = options.layout ?? DEFAULT_LAYOUT
  const historyLimit = options.historyLimit ?? 0
  const base: StatusReport = { repo, headSha: head, environments: [] }
  if (!head) {
    return {
      ...base,
      problem: {
        code: 'REPO_EMPTY',
        message:
          `${repo} has no commits yet (or no such repo exists); add ` +
          `${layout.environmentsDir}/<environment>${layout.extension} files to see them here`,
      },
    }
  }

  let entries
  try {
    entries = await limit(() => handle.ls(layout.environmentsDir, { ref: head }))
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    return {
      ...base,
      problem: {
        code: 'ENVIRONMENTS_DIR_MISSING',
        message: `${repo} has no ${layout.environmentsDir}/ folder at ${shortSha(head)}; add ${layout.environmentsDir}/<environment>${layout.extension} files`,
      },
    }
  }
  const environments = entries
    .filter((e) => e.type === 'file')
    .map((e) => environmentFromFileName(layout, e.name))
    .filter((name): name is string => name !== undefined)
    .sort()
  if (environments.length === 0) {
    return {
      ...base,
      problem: {
        code: 'NO_ENVIRONMENTS',
        message: `${layout.environmentsDir}/ in ${repo} holds no *${layout.extension} environment files`,
      },
    }
  }

  const holdsPending = readHolds(handle, head, layout, limit)
  const statuses = await Promise.all(
    environments.map((environment) =>
      readEnvironment(handle, head, environment, { layout, limit, historyLimit, holds: holdsPending }),
    ),
  )
  return { ...base, environments: statuses }
}

async function readEnvironment(
  handle: RepoHandle,
  head: string,
  environment: string,
  options: {
    layout: StatusLayout
    limit: Limiter
    historyLimit: number
    holds: Promise<Map<string, HoldInfo>>
  },
): Promise<EnvironmentStatus> {
  const { layout, limit, historyLimit } = options
  const path = environmentPath(environment, layout)
  const historyLog = historyLimit > 0 ? logLimitFor(historyLimit) : 1
  // One Log call serves both the history and the lineage (the image's last change).
  const logLimit = Math.max(historyLog, LINEAGE_LOG_LIMIT)
  const [file, commits, holds] = await Promise.all([
    limit(() => handle.read(path, { ref: head })),
    limit(() => handle.log({ ref: head, path, limit: logLimit })),
    options.holds,
  ])
  const parsed = parseEnvironmentFile(path, file.content, layout.imagePointer)
  const last = commits[0]
  const hold = holds.get(environment) ?? null
  const status: EnvironmentStatus = {
    environment,
    path,
    image: parsed.ok ? parsed.image : null,
    headSha: head,
    updatedAt: last?.committedAt ? last.committedAt.toISOString() : null,
    lastCommit: last ? summarizeCommit(last) : null,
    held: hold !== null,
    hold,
    lineage: lineageOf(commits, layout.imagePointer),
  }
  if (parsed.problem) status.problem = parsed.problem
  if (historyLimit > 0) {
    status.history = await buildDeployRecords(handle, path, commits.slice(0, historyLog), historyLimit, limit, layout.imagePointer)
  }
  return status
}

/** The recent deploys of one environment, newest first. */
export async function readHistoryReport(
  handle: RepoHandle,
  head: string | null,
  environment: string,
  options: ReadOptions & { historyLimit: number },
): Promise<HistoryReport> {
  const layout = options.layout ?? DEFAULT_LAYOUT
  const path = environmentPath(environment, layout)
  const empty = { repo: options.repo, environment, headSha: head, deploys: [] }
  if (!head) throw new NotFoundAppError(`${options.repo} has no commits, so no environment ${environment}`)
  let commits: CommitInfo[]
  try {
    commits = await options.limit(() =>
      handle.log({ ref: head, path, limit: logLimitFor(options.historyLimit) }),
    )
  } catch (err) {
    if (err instanceof NotFoundError) commits = []
    else throw err
  }
  if (commits.length === 0) {
    throw new NotFoundAppError(`environment ${environment} has no history: no commit touched ${path}`)
  }
  const deploys = await buildDeployRecords(handle, path, commits, options.historyLimit, options.limit, layout.imagePointer)
  return { ...empty, deploys }
}
