/**
 * The core operation: apply a change to one environment file at key level,
 * safely under concurrency, against servers that do and do not enforce
 * `expectedHead`.
 *
 * INVARIANT (what "zero lost updates" means here). Every write we make is
 * "the content at the commit we name as expectedHead, plus our change". If
 * that commit is not the branch tip:
 *  - an enforcing server refuses (StaleHead): we re-read and three-way merge
 *    base→ours into the new content; nothing of ours landed, nothing of theirs
 *    was touched;
 *  - a non-enforcing server lets the write land on top of commits we never
 *    saw (the client reports an ExpectedHeadViolation). We then settle
 *    (repair.ts): until we see a tip, written after our last commit, whose
 *    content is its *intended state* (every commit's intended change applied
 *    in order, snapshots ignored), we write the intended value of every key
 *    that differs, whoever made it differ. Our subjects carry a
 *    `(base <sha>)` marker when Log has no full messages, so that other
 *    writers can tell our intended change from our snapshot.
 * So after every successful return, each key another writer changed since
 * our read holds their value unless we changed that same key; and for the
 * keys we change, another writer's different value is never overwritten
 * silently — that is a DeployConflictError (409) naming the key and both
 * values, and our whole change is withdrawn (and, where it had already landed
 * on a non-enforcing server, reverted by a further commit). Keys we change
 * that another writer set to our value are a no-op. A write is all-or-nothing
 * per request: the final file has all of the request's keys or none.
 *
 * Ordering: every deploy commit records the time of the request or event
 * that produced it (Deploy-Event-Time) and the image digest where known; an
 * *event* older than the newest recorded time for its keys is skipped (never
 * an error), so an out-of-order delivery cannot regress an image. Explicit
 * requests (API, rollback, CI job) always apply.
 *
 * Idempotency: the same idempotency key or event id found in the shared
 * idempotency records (coordination.ts), or in the file's recent history,
 * returns the original answer without writing; a change already in place
 * makes no commit.
 *
 * Across containers (ApplyDeps.coordination, DynamoDB on Lambda): each
 * deploy runs under its repo's write lease, so broker deploys to one repo
 * never interleave, and the shared records and event-order marks decide
 * replays and stale events whichever container a request reaches.
 *
 * Where each part lives: the sequence of one deploy in deploy-run.ts;
 * replays in replay.ts; ordering in ordering.ts; holds in holds.ts; commit
 * messages in deploy-message.ts; the write/merge loop in write-loop.ts; the
 * settle loop in repair.ts; reads, checks and the attempt budget in
 * deploy-file.ts.
 */
import type { Lease } from '../state/lease.js'
import { type ApplyDeps, type ApplyRequest, type ApplyResult, recentDeploys } from './apply-types.js'
import { DEFAULT_LAYOUT, normalizeChange, validateEnvironmentName } from './change.js'
import { DeployRun } from './deploy-run.js'
import { coordinated, inProcess, replayKeys } from './replay.js'

export type { ApplyDeps, ApplyRequest, ApplyResult, DeploySource, RetryPolicy } from './apply-types.js'
export { DEFAULT_AUTHOR, DEFAULT_RETRY } from './apply-types.js'
export { ConfigFileInvalidError, DeployContentionError } from './errors.js'

/** Applies a change to an environment file; see the module comment for the guarantees. */
export async function applyConfigUpdate(deps: ApplyDeps, request: ApplyRequest): Promise<ApplyResult> {
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const environment = validateEnvironmentName(request.environment)
  const change = normalizeChange(request.change, layout)
  const keys = replayKeys(deps.repoName, environment, request)
  const start = (lease?: Lease) => new DeployRun(deps, layout, environment, change.assignments, change.image, request, lease).run()
  // A dry run writes nothing, so it neither waits for the lease nor replays or records an answer.
  if (request.dryRun) return start()
  if (deps.coordination) return coordinated(deps, deps.coordination, keys, change.assignments, request, start)
  return inProcess(recentDeploys(deps), keys, change.assignments, request, () => start())
}
