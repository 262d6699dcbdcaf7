/**
 * Rollback: an explicit request to set an environment's keys (the image by
 * default) back to the values they had at a given commit, or at the last
 * commit where they differed from now ("the previous deploy"). It is applied
 * as a new commit through the deploy core, so it is ordered, audited and
 * concurrency-safe like any deploy; it is the only way a value regresses.
 */
import { NotFoundAppError, ValidationError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import { type ConfigChange, type ConfigLayout, DEFAULT_LAYOUT, environmentPath } from './change.js'
import { isNotFound } from './errors.js'
import { HISTORY_LIMIT } from './history.js'
import { formatPointer, parsePointer } from './json-pointer.js'
import { parseJsonText } from './json-parse.js'
import { ABSENT, getAt, lookupEqual } from './json-values.js'
import { valueOrigin } from './origin.js'

export interface RollbackPlan {
  change: ConfigChange
  /** The commit whose values are restored. */
  target: string
  subject: string
  /** The commit that had set the restored values, and how (a promotion names its source). */
  origin?: { commit: string; source?: string; promotedFrom?: string }
}

export async function planRollback(
  repo: RepoHandle,
  input: { environment: string; to?: string; keys?: string[]; layout?: ConfigLayout },
): Promise<RollbackPlan> {
  const layout = input.layout ?? DEFAULT_LAYOUT
  const path = environmentPath(input.environment, layout)
  const keys = (input.keys ?? [layout.imagePointer]).map((k) => parsePointer(k, 'keys'))
  const read = async (ref?: string) => {
    try {
      const f = await repo.read(path, ref ? { ref } : undefined)
      return parseJsonText(f.content, `${path}${ref ? ` at ${ref.slice(0, 12)}` : ''}`)
    } catch (err) {
      if (isNotFound(err)) {
        throw new NotFoundAppError(ref ? `${path} does not exist at commit ${ref.slice(0, 12)}.` : `Unknown environment "${input.environment}": ${path} does not exist.`)
      }
      throw err
    }
  }
  const current = await read()
  let target: string | undefined
  let targetDoc: unknown
  if (input.to) {
    target = input.to
    targetDoc = await read(input.to)
  } else {
    // Newest first: the first version whose keys differ from now is "the previous deploy".
    for (const c of await repo.log({ path, limit: HISTORY_LIMIT })) {
      const doc = await read(c.sha).catch(() => undefined)
      if (doc !== undefined && keys.some((k) => !lookupEqual(getAt(doc, k), getAt(current, k)))) {
        target = c.sha
        targetDoc = doc
        break
      }
    }
    if (!target) throw new NotFoundAppError(`No earlier value of ${keys.map(formatPointer).join(', ')} in the last ${HISTORY_LIMIT} commits of ${path}.`)
  }
  const set: Record<string, unknown> = {}
  for (const k of keys) {
    const v = getAt(targetDoc, k)
    if (v === ABSENT) throw new ValidationError(`${formatPointer(k)} does not exist in ${path} at ${target.slice(0, 12)}.`, 'keys')
    set[formatPointer(k)] = v
  }
  const imagePointer = formatPointer(parsePointer(layout.imagePointer))
  const only = Object.keys(set)
  const image = only.length === 1 && only[0] === imagePointer && typeof set[imagePointer] === 'string' ? (set[imagePointer] as string) : undefined
  // Name what the restored value was: a promoted value says where it had come from.
  const found = await valueOrigin(repo, { path, keys, current: targetDoc, ref: target })
  const origin = found && { commit: found.commit.sha, ...(found.trailers ? { source: found.trailers.source } : {}), ...(found.trailers?.promotedFrom ? { promotedFrom: found.trailers.promotedFrom } : {}) }
  const promoted = origin?.promotedFrom ? ` (promoted from ${shortRef(origin.promotedFrom)})` : ''
  return {
    change: image ? { image } : { set },
    target,
    subject: `Roll back ${input.environment} to ${image ?? target.slice(0, 12)}${promoted}`,
    ...(origin ? { origin } : {}),
  }
}

/** `staging@<40 hex>` → `staging@<12 hex>`, for a subject line. */
function shortRef(promotedFrom: string): string {
  const at = promotedFrom.lastIndexOf('@')
  return at < 0 ? promotedFrom : `${promotedFrom.slice(0, at)}@${promotedFrom.slice(at + 1, at + 13)}`
}
