/**
 * Where an environment's current value came from: the newest commit of the
 * file after which the given keys held the values they hold now ("the commit
 * that set the value"). Promotions measure soak time from it, name it in
 * their trailers, and verifications attach to it.
 *
 * It is read from file contents rather than trailers so that hand edits,
 * repairs and servers without full messages give the same answer.
 */
import { ValidationError } from '../errors.js'
import type { CommitInfo, RepoHandle } from '../githosted/types.js'
import { isNotFound } from './errors.js'
import { HISTORY_LIMIT } from './history.js'
import { parseJsonText } from './json-parse.js'
import { getAt, lookupEqual } from './json-values.js'
import { type DeployTrailers, parseDeployTrailers } from './trailers.js'

export interface ValueOrigin {
  commit: CommitInfo
  trailers?: DeployTrailers
  /** False when the value is older than the commits looked at (the oldest one seen is given). */
  exact: boolean
}

/** Files read at once while walking back; each is one githosted Read. */
const BATCH = 4

export async function valueOrigin(
  repo: RepoHandle,
  input: { path: string; keys: string[][]; current: unknown; ref?: string },
): Promise<ValueOrigin | undefined> {
  const commits = await repo.log({ path: input.path, limit: HISTORY_LIMIT, ...(input.ref ? { ref: input.ref } : {}) })
  const sameAsNow = async (c: CommitInfo): Promise<boolean> => {
    try {
      const doc = parseJsonText((await repo.read(input.path, { ref: c.sha })).content)
      return input.keys.every((k) => lookupEqual(getAt(doc, k), getAt(input.current, k)))
    } catch (err) {
      // Deleted or broken at that commit: the value was not there.
      if (isNotFound(err) || err instanceof SyntaxError || err instanceof ValidationError) return false
      throw err
    }
  }
  let setter: CommitInfo | undefined
  for (let i = 0; i < commits.length; i += BATCH) {
    const batch = commits.slice(i, i + BATCH)
    const same = await Promise.all(batch.map(sameAsNow))
    for (let j = 0; j < batch.length; j++) {
      if (!same[j]) return setter && { commit: setter, ...trailersOf(setter), exact: true }
      setter = batch[j]
    }
  }
  return setter && { commit: setter, ...trailersOf(setter), exact: commits.length < HISTORY_LIMIT }
}

function trailersOf(c: CommitInfo): { trailers?: DeployTrailers } {
  const t = parseDeployTrailers(c.message)
  return t ? { trailers: t } : {}
}
