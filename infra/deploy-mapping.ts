/**
 * Reads the ECR repository names from config/deploy-mapping.json at synth time
 * so the EventBridge rule forwards only pushes the events function can act on
 * (unmapped pushes are filtered by the bus for free instead of invoking Lambda).
 */
import { existsSync, readFileSync } from 'node:fs'
import { ContextError, isEcrRepositoryName } from './config.js'

/**
 * ECR repository names in the mapping file, or undefined when the file does
 * not exist. A file that exists but cannot be read fails synth: a silently
 * empty filter would drop every push.
 */
export function readMappedRepositories(path: string): string[] | undefined {
  if (!existsSync(path)) return undefined
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ContextError(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`)
  }
  const names = [...new Set(collectRepositories(doc))]
  const bad = names.filter((n) => !isEcrRepositoryName(n))
  if (bad.length > 0) throw new ContextError(`${path}: not valid ECR repository names: ${bad.join(', ')}`)
  return names.sort()
}

// The mapping is a list of entries, each naming the ECR repository it reacts to.
function collectRepositories(doc: unknown): string[] {
  const entries = Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc.mappings) ? doc.mappings : undefined
  if (!entries) throw new ContextError('deploy mapping: expected a list of mappings (or {"mappings": [...]})')
  return entries.map((entry, i) => {
    const repo = isRecord(entry) ? (entry.ecrRepository ?? entry.repository) : undefined
    if (typeof repo !== 'string') {
      throw new ContextError(`deploy mapping: entry ${i} has no "ecrRepository" string`)
    }
    return repo
  })
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
