/**
 * The policy: data compiled into each bundle (config/policy.yaml), validated
 * and compiled at build time (the bundle carries the result, compiled.ts),
 * evaluated deny-by-default. Documents from files and tests are validated
 * and compiled here, at load.
 */
import { loadedPolicy, type LoadedPolicy } from './compiled.js'
import { compilePolicy, type LoadPolicyOptions } from './load.js'

export type { LoadedPolicy } from './compiled.js'

/** Validates a policy document (already parsed from YAML/JSON) and returns the Policy. */
export function loadPolicy(document: unknown, options: LoadPolicyOptions = {}): LoadedPolicy {
  return loadedPolicy(compilePolicy(document, options))
}

export { formatDuration, parseDuration } from '../duration.js'
export { compileGlob, globProblem } from './glob.js'
export { callerTrace, GENERIC_DENIAL, MAX_CLAIM_VALUE_LENGTH } from './evaluate.js'
export { COMPILED_POLICY_FORMAT, COMPILED_POLICY_VERSION, policyFromBuild, toCompiledPolicyData, type CompiledPolicyData } from './compiled.js'
export type { LoadPolicyOptions } from './load.js'
export type { PolicyDocument } from './schema.js'
export type * from './types.js'
