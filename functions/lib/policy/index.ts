/**
 * The policy: data compiled into each bundle (config/policy.yaml), validated
 * at build time and again at load, evaluated deny-by-default.
 */
import type { IssuerConfig } from '../auth/presets.js'
import { evaluator } from './evaluate.js'
import { compilePolicy, type LoadPolicyOptions } from './load.js'
import type { Policy } from './types.js'

export interface LoadedPolicy extends Policy {
  /** The trusted OIDC issuers, to configure the authenticator with. */
  readonly issuers: IssuerConfig[]
  /** Rule names in evaluation order. */
  readonly ruleNames: string[]
  /** Broker key names some rule refers to. */
  readonly brokerKeyNames: string[]
}

/** Validates a policy document (already parsed from YAML/JSON) and returns the Policy. */
export function loadPolicy(document: unknown, options: LoadPolicyOptions = {}): LoadedPolicy {
  const compiled = compilePolicy(document, options)
  return {
    ...evaluator(compiled),
    issuers: compiled.issuers,
    ruleNames: compiled.rules.map((r) => r.name),
    brokerKeyNames: [...new Set(compiled.rules.flatMap((r) => (r.brokerKey ? [r.brokerKey] : [])))],
  }
}

export { formatDuration, parseDuration } from '../duration.js'
export { compileGlob, globProblem } from './glob.js'
export { callerTrace, GENERIC_DENIAL, MAX_CLAIM_VALUE_LENGTH } from './evaluate.js'
export type { LoadPolicyOptions } from './load.js'
export type { PolicyDocument } from './schema.js'
export type * from './types.js'
