/**
 * Reads config/deploy-mapping.json at synth time, with the same validation the
 * events function runs at init (functions/events/mapping.ts), and turns its
 * ECR entries into EventBridge filters: unmapped pushes are dropped by the bus
 * for free instead of invoking Lambda, and a broken mapping fails synth
 * instead of every cold start.
 */
import { existsSync, readFileSync } from 'node:fs'
import { loadMapping } from '../functions/events/mapping.js'
import { ContextError } from './config.js'

/** Repository filters for the ECR rules; each entry is an exact name or an EventBridge wildcard. */
export interface EcrFilters {
  /** Repositories whose mappings need a tag (`{tag}` in imageFormat): only tagged pushes. */
  tagged: RepositoryFilter[]
  /** Repositories with a digest-only mapping: every successful push, tagged or not. */
  untagged: RepositoryFilter[]
}

export type RepositoryFilter = string | { wildcard: string }

/** Filters from the mapping file, or undefined when the file does not exist. */
export function readEcrFilters(path: string): EcrFilters | undefined {
  if (!existsSync(path)) return undefined
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ContextError(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`)
  }
  let ecr: Array<{ ecrRepository: string; imageFormat: string }>
  try {
    ecr = loadMapping(doc).ecr
  } catch (err) {
    throw new ContextError(err instanceof Error ? err.message : String(err))
  }
  // A repository with any digest-only entry goes to the untagged rule only, so that
  // its tagged pushes are not delivered twice.
  const untagged = new Set(ecr.filter((e) => !e.imageFormat.includes('{tag}')).map((e) => e.ecrRepository))
  const tagged = new Set(ecr.map((e) => e.ecrRepository).filter((r) => !untagged.has(r)))
  return { tagged: toFilters([...tagged]), untagged: toFilters([...untagged]) }
}

/** Filters for repository names or globs given in context (tagged pushes only). */
export function contextEcrFilters(patterns: string[]): EcrFilters {
  return { tagged: toFilters(patterns), untagged: [] }
}

/**
 * Mapping globs (`*` any run, `?` one character) as EventBridge filters.
 * EventBridge wildcards know only `*`, so `?` widens to `*`: the bus lets a
 * few more names through and the function's exact match decides.
 */
export function toFilters(patterns: string[]): RepositoryFilter[] {
  return [...new Set(patterns)].sort().map((p) => (/[*?]/.test(p) ? { wildcard: p.replaceAll('?', '*') } : p))
}
