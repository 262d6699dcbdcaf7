/**
 * The policy as a build leaves it. build/yaml-plugin.ts validates and
 * compiles a policy file with load.ts (every fail-open guard, the build fails
 * on an invalid policy) and writes the result into the bundle as data with a
 * format marker. At run time only the marker is checked: hydrating turns the
 * patterns back into matchers and links rules to their issuers, so the
 * validator and its schema library never load in a Lambda, and a cold start
 * does not validate a policy that was validated when it was built.
 *
 * Only build output comes here (policyFromBuild). A document read from a file
 * or a string still goes through loadPolicy, which validates everything; it
 * refuses this data shape outright (unknown fields), so a marker in a policy
 * file cannot skip validation.
 */
import type { IssuerConfig } from '../auth/presets.js'
import { ConfigError } from '../errors.js'
import { evaluator } from './evaluate.js'
import { compileGlob } from './glob.js'
import { issuerUrlProblem } from './issuer-url.js'
import type { CompiledPolicy, CompiledRule, LoadPolicyOptions } from './load.js'
import type { Grant, Policy } from './types.js'

/** What marks data written by the build; the version changes whenever its shape does. */
export const COMPILED_POLICY_FORMAT = 'githosted-ci-broker/compiled-policy'
export const COMPILED_POLICY_VERSION = 1

/** A compiled policy as plain data (JSON): patterns as text, issuers by name. */
export interface CompiledPolicyData {
  format: typeof COMPILED_POLICY_FORMAT
  version: number
  issuers: IssuerConfig[]
  rules: Array<{
    name: string
    index: number
    /** The issuer's name (an entry of `issuers`). */
    issuer?: string
    brokerKey?: string
    /** In evaluation order (identity claims first), as compiled. */
    conditions: Array<{ claim: string; patterns: string[]; identity: boolean }>
    grant: Grant
  }>
}

export interface LoadedPolicy extends Policy {
  /** The trusted OIDC issuers, to configure the authenticator with. */
  readonly issuers: IssuerConfig[]
  /** Rule names in evaluation order. */
  readonly ruleNames: string[]
  /** Broker key names some rule refers to. */
  readonly brokerKeyNames: string[]
}

/** The Policy over compiled rules, with what the functions read from it besides decisions. */
export function loadedPolicy(compiled: CompiledPolicy): LoadedPolicy {
  return {
    ...evaluator(compiled),
    issuers: compiled.issuers,
    ruleNames: compiled.rules.map((r) => r.name),
    brokerKeyNames: [...new Set(compiled.rules.flatMap((r) => (r.brokerKey ? [r.brokerKey] : [])))],
  }
}

/** Build time: the compiled policy as data (see build/yaml-plugin.ts). */
export function toCompiledPolicyData(compiled: CompiledPolicy): CompiledPolicyData {
  return {
    format: COMPILED_POLICY_FORMAT,
    version: COMPILED_POLICY_VERSION,
    issuers: compiled.issuers,
    rules: compiled.rules.map((r) => ({
      name: r.name,
      index: r.index,
      ...(r.issuer ? { issuer: r.issuer.name } : {}),
      ...(r.brokerKey !== undefined ? { brokerKey: r.brokerKey } : {}),
      conditions: r.conditions.map((c) => ({ claim: c.claim, patterns: c.globs.map((g) => g.pattern), identity: c.identity })),
      grant: r.grant,
    })),
  }
}

function fail(message: string): never {
  throw new ConfigError(`policy: ${message}`)
}

/**
 * Issuers with `issuerUrls` applied (the local issuer of `npm start` and the
 * benchmarks, whose port is known only at run time), each replaced URL
 * checked as compiling checks it.
 */
function issuersWith(issuers: IssuerConfig[], overrides: Record<string, string> | undefined): IssuerConfig[] {
  if (!overrides) return issuers
  for (const name of Object.keys(overrides)) {
    if (!issuers.some((i) => i.name === name)) fail(`issuerUrls names issuer "${name}", which the policy does not define`)
  }
  const seen = new Map<string, string>()
  return issuers.map((issuer) => {
    const url = overrides[issuer.name] ?? issuer.url
    const at = `issuers.${issuer.name}`
    if (!url) fail(`${at}.url: preset ${issuer.preset} has no default issuer URL; set url`)
    const problem = url === issuer.url ? undefined : issuerUrlProblem(issuer, url)
    if (problem) fail(`${at}.${problem}`)
    const other = seen.get(url)
    if (other) fail(`${at}.url: same issuer URL as issuers.${other}`)
    seen.set(url, issuer.name)
    return url === issuer.url ? issuer : { ...issuer, url }
  })
}

/** Run time: the Policy from build output; only the format marker is checked. */
export function policyFromBuild(data: unknown, options: LoadPolicyOptions = {}): LoadedPolicy {
  const d = data as Partial<CompiledPolicyData> | null
  if (d?.format !== COMPILED_POLICY_FORMAT) {
    fail('not a compiled policy: bundles import policy files through build/yaml-plugin.ts, which compiles them')
  }
  if (d.version !== COMPILED_POLICY_VERSION) {
    fail(`compiled policy format ${String(d.version)}, this code reads ${COMPILED_POLICY_VERSION}: rebuild the bundle`)
  }
  const { issuers: built = [], rules = [] } = d
  const issuers = issuersWith(built, options.issuerUrls)
  const byName = new Map(issuers.map((i) => [i.name, i]))
  const compiled: CompiledPolicy = {
    issuers,
    rules: rules.map((r): CompiledRule => {
      const rule: CompiledRule = {
        name: r.name,
        index: r.index,
        conditions: r.conditions.map((c) => ({ claim: c.claim, globs: c.patterns.map(compileGlob), identity: c.identity })),
        grant: r.grant,
        repoGlobs: r.grant.repos.map(compileGlob),
        environmentGlobs: r.grant.environments.map(compileGlob),
        promote: r.grant.promote,
      }
      if (r.issuer !== undefined) rule.issuer = byName.get(r.issuer)!
      if (r.brokerKey !== undefined) rule.brokerKey = r.brokerKey
      return rule
    }),
  }
  return loadedPolicy(compiled)
}
