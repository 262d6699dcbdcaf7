/**
 * Environment holds (pins). A hold is a file `holds/<env>.json` in the config
 * repo — `{"reason": "...", "by": "...", "at": "ISO time"}` — and its
 * presence is what counts: automatic (event) deploys skip a held
 * environment, explicit deploys need an override the policy allows. Keeping
 * holds in the repo makes them visible, reviewable and part of the history.
 */
import type { RepoHandle, WriteResult } from '../githosted/types.js'
import { type ConfigLayout, DEFAULT_LAYOUT, holdPath } from './change.js'
import { isNotFound } from './errors.js'

export interface Hold {
  reason: string
  by?: string
  at?: string
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
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  let content: string
  try {
    const file = await repo.read(path, options.ref ? { ref: options.ref } : undefined)
    content = file.content
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
  // The SDKs' `delete()` writes an empty file; treat an empty hold file as released.
  if (content.trim() === '') return undefined
  try {
    const parsed = JSON.parse(content) as Record<string, unknown>
    return {
      reason: typeof parsed.reason === 'string' && parsed.reason ? parsed.reason : 'held (no reason given)',
      ...(typeof parsed.by === 'string' ? { by: parsed.by } : {}),
      ...(typeof parsed.at === 'string' ? { at: parsed.at } : {}),
    }
  } catch {
    return { reason: `held (${path} is not valid JSON)` }
  }
}

/** Puts a hold on an environment (one commit). */
export async function writeHold(
  repo: RepoHandle,
  environment: string,
  hold: Hold,
  options: { layout?: ConfigLayout; message?: string } = {},
): Promise<WriteResult> {
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  const body = JSON.stringify({ reason: hold.reason, by: hold.by, at: hold.at }, null, 2) + '\n'
  return repo.write(path, body, { message: options.message ?? `Hold ${environment}: ${hold.reason}` })
}

/**
 * Releases a hold. Uses DeleteFile; the caller passes a message saying who
 * released it. A missing hold is not an error (returns undefined).
 */
export async function releaseHold(
  repo: RepoHandle,
  environment: string,
  options: { layout?: ConfigLayout; message: string },
): Promise<WriteResult | undefined> {
  const path = holdPath(environment, options.layout ?? DEFAULT_LAYOUT)
  try {
    return await repo.delete(path, { message: options.message })
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}
