/**
 * Where an environment's image came from, read from the deploy trailers of
 * the file's recent commits: the newest commit that changed the image
 * pointer says how (api, event, ci-job, rollback, promotion) and, for a
 * promotion, from which environment's commit (Deploy-Promoted-From). Where
 * the server returns no full messages, or a commit without trailers (a hand
 * edit) comes first, the answer is unknown (null), never a guess.
 */
import { formatPointer, parsePointer } from '../deploys/json-pointer.js'
import { parseDeployTrailers } from '../deploys/trailers.js'
import type { CommitInfo } from '../githosted/types.js'
import { shortSha } from './commits.js'
import type { EnvironmentStatus, ValueLineage } from './types.js'

/** Commits of the file the status reads (one Log call) to find the image's last change. */
export const LINEAGE_LOG_LIMIT = 20

/** `staging@<sha>` → its parts; undefined when the trailer is not of that shape. */
export function parsePromotedFrom(value: string | undefined): { environment: string; commit: string; shortSha: string } | undefined {
  const m = value ? /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})@([0-9a-f]{7,64})$/.exec(value) : null
  return m ? { environment: m[1]!, commit: m[2]!, shortSha: shortSha(m[2]!) } : undefined
}

export function lineageOf(commits: CommitInfo[], imagePointer: string): ValueLineage | null {
  const pointer = formatPointer(parsePointer(imagePointer))
  for (const c of commits) {
    const t = parseDeployTrailers(c.message)
    // Without trailers this commit may have set the image (a hand edit, the seed): nothing certain from here on.
    if (!t) return null
    if (t.source === 'repair' || !t.changes.some((ch) => ch.pointer === pointer)) continue
    const from = parsePromotedFrom(t.promotedFrom)
    return {
      commit: c.sha,
      shortSha: shortSha(c.sha),
      committedAt: c.committedAt?.toISOString() ?? null,
      source: t.source,
      ...(t.requester ? { by: t.requester } : {}),
      ...(from ? { promotedFrom: from } : {}),
      ...(t.imageDigest ? { digest: t.imageDigest } : {}),
    }
  }
  return null
}

/**
 * The promotion chain that ends in `env`, oldest first (`['dev', 'staging',
 * 'production']`): each hop back is followed only while the source still runs
 * the very commit it was promoted from, so the chain never claims more than
 * the history shows.
 */
export function promotionChain(environments: EnvironmentStatus[], env: EnvironmentStatus): string[] {
  const chain = [env.environment]
  let cur = env
  while (cur.lineage?.promotedFrom) {
    const from = cur.lineage.promotedFrom
    if (chain.includes(from.environment)) break
    chain.unshift(from.environment)
    const prev = environments.find((e) => e.environment === from.environment)
    if (!prev || prev.lineage?.commit !== from.commit) break
    cur = prev
  }
  return chain
}
