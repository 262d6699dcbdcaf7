/**
 * Putting and releasing environment holds through the API. The hold file
 * itself (`holds/<env>.json`) is lib/deploys/holds.ts; this module adds what
 * an API call needs around it: idempotence (the same hold twice makes one
 * commit, releasing nothing makes none), a check that the environment exists
 * (a hold on a misspelled name would pin nothing), and commit messages that
 * say who and why, with deploy trailers so `git log` shows holds next to
 * deploys.
 *
 * Writes are whole-file and unconditional: two people holding at once is
 * last-writer-wins, which is what a hold means (whoever pinned last says why).
 */
import { DEFAULT_AUTHOR } from './apply.js'
import { type ConfigLayout, DEFAULT_LAYOUT, environmentPath, holdPath } from './change.js'
import { EnvironmentHeldError, isNotFound } from './errors.js'
import { type Hold, readHoldState, releaseHold, writeHold } from './holds.js'
import { formatDeployMessage } from './trailers.js'
import { NotFoundAppError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'

export interface HoldDeps {
  repo: RepoHandle
  /** The repo's slug, for messages and the response. */
  repoName: string
  layout?: ConfigLayout
  clock?: () => Date
}

export interface HoldOutcome {
  repo: string
  environment: string
  path: string
  held: boolean
  /** The new commit, or the commit at which the requested state already held. */
  commit: string
  changed: boolean
  /** The hold in place afterwards (held: true). */
  hold?: Hold
  /** The hold this call replaced or released, if any. */
  previous?: Hold
}

/** Who is asking, as recorded in the hold and the commit trailers. */
export interface HoldRequester {
  subject: string
  runUrl?: string
  /** The caller's grant has overrideHolds: it may replace a hold someone else placed. */
  mayReplaceOthers?: boolean
}

/**
 * Holds `environment` with `reason`. The same reason by the same requester
 * already in place is a no-op (the original time is kept). A hold the same
 * requester placed is replaced; someone else's only with overrideHolds (else
 * 409 ENVIRONMENT_HELD), since replacing it rewrites their reason and name.
 * The response names the replaced hold.
 */
export async function putHold(deps: HoldDeps, environment: string, reason: string, who: HoldRequester): Promise<HoldOutcome> {
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const path = holdPath(environment, layout)
  const [state] = await Promise.all([readHoldState(deps.repo, environment, { layout }), requireEnvironment(deps, environment, layout)])
  const base = { repo: deps.repoName, environment, path, held: true }
  if (state.hold && state.hold.reason === reason && state.hold.by === who.subject && state.headSha) {
    return { ...base, commit: state.headSha, changed: false, hold: state.hold }
  }
  if (state.hold && state.hold.by !== who.subject && !who.mayReplaceOthers) {
    throw new EnvironmentHeldError(
      `${environment} is already held by ${state.hold.by ?? 'someone else'}; replacing another requester's hold needs a grant with overrideHolds.`,
      state.hold,
    )
  }
  const hold: Hold = { reason, by: who.subject, at: (deps.clock ?? (() => new Date()))().toISOString() }
  const replaced = state.hold ? `Replaces the hold${state.hold.by ? ` by ${state.hold.by}` : ''}: ${state.hold.reason}` : undefined
  const message = formatDeployMessage(
    `Hold ${environment}: ${reason}`,
    { environment, source: 'hold', changes: [], requester: who.subject, runUrl: who.runUrl, reason },
    replaced,
  )
  const written = await writeHold(deps.repo, environment, hold, { layout, message, author: DEFAULT_AUTHOR })
  return { ...base, commit: written.commit, changed: true, hold, ...(state.hold ? { previous: state.hold } : {}) }
}

/** Releases the hold on `environment`; no hold is a no-op that names the current head. */
export async function liftHold(deps: HoldDeps, environment: string, who: HoldRequester & { reason?: string }): Promise<HoldOutcome> {
  const layout = deps.layout ?? DEFAULT_LAYOUT
  const path = holdPath(environment, layout)
  const state = await readHoldState(deps.repo, environment, { layout })
  const base = { repo: deps.repoName, environment, path, held: false }
  if (state.hold) {
    const previous = state.hold
    const message = formatDeployMessage(
      `Release hold on ${environment}${who.reason ? `: ${who.reason}` : ''}`,
      { environment, source: 'release', changes: [], requester: who.subject, runUrl: who.runUrl, reason: who.reason },
      `Released the hold${previous.by ? ` by ${previous.by}` : ''}: ${previous.reason}`,
    )
    const at = (deps.clock ?? (() => new Date()))().toISOString()
    const released = await releaseHold(deps.repo, environment, { layout, message, author: DEFAULT_AUTHOR, by: who.subject, at })
    // Undefined: someone released it between our read and our delete; the outcome is the same.
    if (released) return { ...base, commit: released.commit, changed: true, previous }
  }
  return { ...base, commit: state.headSha ?? (await headCommit(deps.repo)), changed: false }
}

async function requireEnvironment(deps: HoldDeps, environment: string, layout: ConfigLayout): Promise<void> {
  const path = environmentPath(environment, layout)
  try {
    await deps.repo.read(path)
  } catch (err) {
    if (isNotFound(err)) throw new NotFoundAppError(`Unknown environment "${environment}": ${path} does not exist in ${deps.repoName}.`)
    throw err
  }
}

async function headCommit(repo: RepoHandle): Promise<string> {
  const [head] = await repo.log({ limit: 1 })
  return head?.sha ?? ''
}
