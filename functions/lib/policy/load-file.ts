/**
 * Reads a policy file from disk (YAML or JSON). For `npm start`, tests and
 * the build; Lambda bundles get the policy compiled in instead, so this
 * module (and the `yaml` dependency) never ships.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigError } from '../errors.js'
import { loadPolicy, type LoadedPolicy } from './index.js'
import type { LoadPolicyOptions } from './load.js'

/** Parses YAML (a superset of JSON) into a plain document, with a clear error on bad syntax. */
export function parsePolicyText(text: string, source = 'policy'): unknown {
  try {
    return parse(text, { prettyErrors: true, uniqueKeys: true })
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ConfigError(`${source}: not valid YAML/JSON (${why})`)
  }
}

/** Reads, parses and validates a policy file. */
export function loadPolicyFile(path: string, options: LoadPolicyOptions = {}): LoadedPolicy {
  const document = parsePolicyText(readFileSync(path, 'utf8'), path)
  try {
    return loadPolicy(document, options)
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`, { cause: err })
    throw err
  }
}
