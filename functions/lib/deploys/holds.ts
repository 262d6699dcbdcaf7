/**
 * Environment holds (pins). A hold is a file `holds/<env>.json` in the config
 * repo — `{"reason": "...", "by": "...", "at": "ISO time"}` — and its
 * presence is what counts: automatic (event) deploys skip a held
 * environment, explicit deploys need an override the policy allows. Keeping
 * holds in the repo makes them visible, reviewable and part of the history.
 *
 * Releasing deletes the file. On a server without DeleteFile (githosted's SDK
 * still calls it "planned") the file is overwritten with
 * `{"state": "released", ...}` instead, and every reader treats that (like an
 * empty file, which is what the SDKs' own `delete()` leaves) as no hold.
 */
import type { RepoHandle, WriteResult } from '../githosted/types.js'
import { type ConfigLayout, DEFAULT_LAYOUT, holdPath } from './change.js'
import { EnvironmentHeldError, isNotFound, isUnimplemented } from './errors.js'

export interface Hold {
  reason: string
  by?: string
  at?: string
}

/** A hold file as read: the hold (if any) and the commit it was read at. */
export interface HoldState {
  hold?: Hold
  /** The branch head the hold file was read at; undefined when there is no hold file. */
  headSha?: string
}

/**
 * Returns the hold on an environment, or undefined when there is none. A
 * hold file that is empty or not valid JSON still holds (fail closed: someone
 * meant to pin the environment), with a reason saying so.
 */
export async function readHold(
  repo: RepoHandle,
  environment: string,
  options: { layout?: ConfigLayout; ref?: string } = {},
): Promise<Hold | undefined> {
  return (await readHoldState(repo, environment, options)).hold
}

/**
 * What a hold means for one deploy, as above: an event skips the environment
 * (`skip`, never an error); an explicit deploy goes ahead only with an
 * override the policy allowed, and says so in its commit (`note`). Throws
 * EnvironmentHeldError for an explicit deploy without that override.
 * Undefined when nothing is held.
 */
export function holdVerdict(
  hold: Hold | undefined,
  environment: string,
  request: { source: string; overrideHold?: boolean },
): { skip: string } | { note: string } | undefined {
  if (!hold) return undefined
  if (request.source === 'event') return { skip: `${environment} is held: ${hold.reason}` }
  if (!request.overrideHold) {
    throw new EnvironmentHeldError(
      `${environment} is held${hold.by ? ` by ${hold.by}` : ''}: ${hold.reason}. Release the hold, or pass overrideHold where the policy allows it.`,
      hold,
    )
  }
  return { note: `overrides hold on ${environment} (${hold.reason})` }
}

/**
 * Like readHold, plus the commit the file was read at, so a caller that
 * finds the hold already in place can name the commit without another call.
 */
export async function readHoldState(
  repo: RepoHandle,
  environment: string,
  options: { layout?: ConfigLayout; ref?: string } = {},
): Promise<HoldState> {
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  let content: string
  let headSha: string
  try {
    const file = await repo.read(path, options.ref ? { ref: options.ref } : undefined)
    content = file.content
    headSha = file.headSha
  } catch (err) {
    if (isNotFound(err)) return {}
    throw err
  }
  // The SDKs' `delete()` writes an empty file; treat an empty hold file as released.
  if (content.trim() === '') return { headSha }
  try {
    const parsed = JSON.parse(content) as Record<string, unknown>
    if (parsed !== null && parsed.state === RELEASED) return { headSha }
    const hold: Hold = {
      reason: typeof parsed.reason === 'string' && parsed.reason ? parsed.reason : 'held (no reason given)',
      ...(typeof parsed.by === 'string' ? { by: parsed.by } : {}),
      ...(typeof parsed.at === 'string' ? { at: parsed.at } : {}),
    }
    return { hold, headSha }
  } catch {
    return { hold: { reason: `held (${path} is not valid JSON)` }, headSha }
  }
}

/** Puts a hold on an environment (one commit). */
export async function writeHold(
  repo: RepoHandle,
  environment: string,
  hold: Hold,
  options: { layout?: ConfigLayout; message?: string; author?: CommitAuthor } = {},
): Promise<WriteResult> {
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  const body = JSON.stringify({ reason: hold.reason, by: hold.by, at: hold.at }, null, 2) + '\n'
  return repo.write(path, body, { message: options.message ?? `Hold ${environment}: ${hold.reason}`, ...authorFields(options.author) })
}

/** The `state` of a hold file that no longer holds (written where DeleteFile is missing). */
export const RELEASED = 'released'

/**
 * Releases a hold. Uses DeleteFile, or writes a released hold file where the
 * server does not implement it; the caller passes a message saying who
 * released it. A missing hold is not an error (returns undefined).
 */
export async function releaseHold(
  repo: RepoHandle,
  environment: string,
  options: { layout?: ConfigLayout; message: string; author?: CommitAuthor; by?: string; at?: string },
): Promise<WriteResult | undefined> {
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  const commit = { message: options.message, ...authorFields(options.author) }
  try {
    return await repo.delete(path, commit)
  } catch (err) {
    if (isNotFound(err)) return undefined
    if (!isUnimplemented(err)) throw err
  }
  const body = JSON.stringify({ state: RELEASED, by: options.by, at: options.at }, null, 2) + '\n'
  return repo.write(path, body, commit)
}

/** Commit author for hold commits (deploy commits use the broker's own author). */
export interface CommitAuthor {
  name: string
  email: string
}

function authorFields(author: CommitAuthor | undefined): { authorName?: string; authorEmail?: string } {
  return author ? { authorName: author.name, authorEmail: author.email } : {}
}
