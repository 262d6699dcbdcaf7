/**
 * Which environments are held, read at the report's head. Listing the holds
 * folder once costs one call however many environments there are; each hold
 * file present is then read with the deploy core's `readHold`, so "held"
 * means here exactly what it means to a deploy (an empty file is released, a
 * broken one still holds).
 */
import { readHold } from '../deploys/holds.js'
import type { RepoHandle } from '../githosted/types.js'
import { environmentFromFileName, type StatusLayout } from './layout.js'
import type { Limiter } from './limiter.js'
import { NotFoundError } from '../githosted/errors.js'
import type { HoldInfo } from './types.js'

/** Environment name -> hold, for every hold in force at `ref`. */
export async function readHolds(
  repo: RepoHandle,
  ref: string,
  layout: StatusLayout,
  limit: Limiter,
): Promise<Map<string, HoldInfo>> {
  const holds = new Map<string, HoldInfo>()
  let entries
  try {
    entries = await limit(() => repo.ls(layout.holdsDir, { ref }))
  } catch (err) {
    if (err instanceof NotFoundError) return holds
    throw err
  }
  const holdFiles = { ...layout, extension: '.json' }
  const environments = entries
    .filter((e) => e.type === 'file')
    .map((e) => environmentFromFileName(holdFiles, e.name))
    .filter((name): name is string => name !== undefined)
  await Promise.all(
    environments.map(async (environment) => {
      const hold = await limit(() => readHold(repo, environment, { layout, ref }))
      if (hold) holds.set(environment, { ...hold })
    }),
  )
  return holds
}
