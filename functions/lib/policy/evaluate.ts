/**
 * Decides requests against compiled rules. Deny by default; rules are tried
 * in document order and the first rule that both matches the caller and
 * covers the whole request decides (grants are never merged). Every decision
 * carries a trace: per rule tried, whether it matched, or the first condition
 * that failed, in words.
 *
 * What a caller may learn is bounded by who it is: the reason and the
 * caller-visible trace only speak of rules whose identity conditions (issuer
 * and pinning claims, or the broker key) the caller meets. Everyone else gets
 * a generic denial; the full trace is for the audit log.
 */
import { redact } from '../observability/logger.js'
import type { CallerIdentity } from '../auth/types.js'
import { formatDuration } from '../duration.js'
import type { Glob } from './glob.js'
import type { CompiledPolicy, CompiledRule } from './load.js'
import type { Decision, DeployRequest, MintRequest, PromoteRequest, RuleTrace } from './types.js'

function shownValue(value: unknown): string {
  let text: string
  if (Array.isArray(value)) text = `[${value.map((v) => String(v)).join(', ')}]`
  else if (typeof value === 'string') text = value === '' ? '""' : value
  else text = JSON.stringify(value) ?? String(value)
  text = redact(text).replace(/[^\x20-\x7e]/g, '?')
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}

function shownPatterns(globs: Glob[]): string {
  return globs.length === 1 ? (globs[0] as Glob).pattern : `one of ${globs.map((g) => g.pattern).join(', ')}`
}

/**
 * Longest claim value a pattern is tested against; longer values never match.
 * Real claims are far shorter, and the bound keeps matching cheap whatever an
 * issuer signs.
 */
export const MAX_CLAIM_VALUE_LENGTH = 256
const MAX_LIST_ITEMS = 64

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return String(value)
  return undefined
}

/**
 * Claim values a pattern can be tested against, or why there are none:
 * scalars as strings; arrays element-wise, except for identity claims, which
 * must be one value (a list would match if any one element did).
 */
function candidates(value: unknown, identity: boolean): string[] | string {
  if (Array.isArray(value)) {
    if (identity) return 'a list (identity claims must be a single value)'
    if (value.length > MAX_LIST_ITEMS) return `a list of more than ${MAX_LIST_ITEMS} items`
    const items = value.map(scalar).filter((v): v is string => v !== undefined)
    if (items.some((v) => v.length > MAX_CLAIM_VALUE_LENGTH)) return `longer than ${MAX_CLAIM_VALUE_LENGTH} characters`
    return items.length > 0 ? items : 'absent'
  }
  const one = scalar(value)
  if (one === undefined) return value === undefined ? 'absent' : 'not a string'
  if (one.length > MAX_CLAIM_VALUE_LENGTH) return `longer than ${MAX_CLAIM_VALUE_LENGTH} characters`
  return [one]
}

function anyMatch(globs: Glob[], values: string[]): boolean {
  return values.some((value) => globs.some((g) => g.test(value)))
}

/** Why a rule does not match the caller, and whether the caller at least is who the rule is for. */
interface Mismatch {
  reason: string
  /** The caller meets the rule's identity conditions (only a later condition failed). */
  identified: boolean
}

/** Why the rule does not match the caller, or undefined if it does. */
function ruleMismatch(rule: CompiledRule, identity: CallerIdentity): Mismatch | undefined {
  const foreign = (reason: string): Mismatch => ({ reason, identified: false })
  if (rule.brokerKey !== undefined) {
    if (identity.kind !== 'broker-key') return foreign(`rule is for broker key ${rule.brokerKey}; caller used an OIDC token`)
    if (identity.keyName !== rule.brokerKey) {
      return foreign(`broker key is ${identity.keyName ?? '(unnamed)'}, rule wants ${rule.brokerKey}`)
    }
    return undefined
  }
  const issuer = rule.issuer
  if (!issuer) return foreign('rule matches nothing')
  if (identity.kind !== 'oidc') {
    return foreign(`rule is for OIDC issuer ${issuer.name}; caller used broker key ${identity.keyName ?? ''}`.trim())
  }
  if (identity.issuer !== issuer.url) {
    return foreign(`issuer is ${shownValue(identity.issuer)}, rule wants ${issuer.name} (${issuer.url})`)
  }
  // Identity conditions come first (load.ts sorts them), so a caller from another tenant
  // is turned away before any of its other claims is matched.
  for (const condition of rule.conditions) {
    const raw = identity.claims[condition.claim]
    const values = candidates(raw, condition.identity)
    const mismatch = (reason: string): Mismatch => ({ reason, identified: !condition.identity })
    if (typeof values === 'string') {
      return mismatch(`claim ${condition.claim} is ${values}, rule wants ${shownPatterns(condition.globs)}`)
    }
    if (!anyMatch(condition.globs, values)) {
      return mismatch(`claim ${condition.claim} is ${shownValue(raw)}, rule wants ${shownPatterns(condition.globs)}`)
    }
  }
  return undefined
}

function covers(globs: Glob[], value: string): boolean {
  return globs.some((g) => g.test(value))
}

/** What a caller no rule is meant for is told. */
export const GENERIC_DENIAL = 'denied: no policy rule applies to this caller'

/** The part of a trace a caller may see: only rules whose identity conditions it meets. */
export function callerTrace(decision: Decision): RuleTrace[] {
  return decision.trace.filter((t) => t.identified).map(({ identified: _, ...rest }) => rest)
}

type GrantCheck = (rule: CompiledRule) => string | undefined

function decide(
  policy: CompiledPolicy,
  identity: CallerIdentity,
  check: GrantCheck,
  onAllow: (rule: CompiledRule) => Partial<Decision> = () => ({}),
): Decision {
  const trace: RuleTrace[] = []
  let partial: { rule: string; reason: string } | undefined
  let closest: { rule: string; reason: string } | undefined
  for (const rule of policy.rules) {
    const mismatch = ruleMismatch(rule, identity)
    if (mismatch) {
      trace.push({ rule: rule.name, matched: false, identified: mismatch.identified, reason: mismatch.reason })
      // The most useful hint is a rule meant for this very caller.
      if (!closest && mismatch.identified) closest = { rule: rule.name, reason: mismatch.reason }
      continue
    }
    const refusal = check(rule)
    if (refusal) {
      const reason = `matches the caller, but ${refusal}`
      trace.push({ rule: rule.name, matched: false, identified: true, reason })
      partial ??= { rule: rule.name, reason: refusal }
      continue
    }
    trace.push({ rule: rule.name, matched: true, identified: true })
    const extra = onAllow(rule)
    return {
      allowed: true,
      identified: true,
      rule: rule.name,
      grant: { ...rule.grant, repos: [...rule.grant.repos], environments: [...rule.grant.environments], promote: rule.grant.promote.map((p) => ({ ...p, requireChecks: [...p.requireChecks] })) },
      reason: `allowed by rule ${rule.name}${extra.reason ? `; ${extra.reason}` : ''}`,
      trace,
      ...(extra.ttlSeconds !== undefined ? { ttlSeconds: extra.ttlSeconds, clamped: extra.clamped ?? false } : {}),
      ...(extra.promote ? { promote: extra.promote } : {}),
    }
  }
  const identified = trace.some((t) => t.identified)
  let reason: string
  if (partial) {
    reason = `denied: rule ${partial.rule} matches this caller, but ${partial.reason}`
  } else if (closest) {
    reason = `denied: no rule matches ${identity.subject} (rule ${closest.rule}: ${closest.reason})`
  } else {
    // Nothing about the policy: not its rule names, required values, issuers or key names.
    reason = GENERIC_DENIAL
  }
  return { allowed: false, identified, reason, trace }
}

function mintCheck(request: MintRequest): GrantCheck {
  return (rule) => {
    if (request.repos.length === 0) return 'the request names no repos'
    const outside = request.repos.filter((repo) => !covers(rule.repoGlobs, repo))
    if (outside.length > 0) {
      const repos = outside.map(shownValue).join(', ')
      return `repo ${repos} is not in its grant (repos: ${rule.grant.repos.join(', ')})`
    }
    if (request.permission === 'write' && rule.grant.permission !== 'write') {
      return 'its grant allows read, the request wants write'
    }
    return undefined
  }
}

function mintTtl(request: MintRequest) {
  return (rule: CompiledRule): Partial<Decision> => {
    const max = rule.grant.maxTtlSeconds
    const asked = Number.isFinite(request.ttlSeconds) && request.ttlSeconds > 0 ? request.ttlSeconds : max
    const clamped = asked > max
    const ttlSeconds = Math.min(asked, max)
    return {
      ttlSeconds,
      clamped,
      ...(clamped ? { reason: `TTL clamped from ${formatDuration(asked)} to ${formatDuration(max)}` } : {}),
    }
  }
}

function deployCheck(request: DeployRequest): GrantCheck {
  return (rule) => {
    if (rule.grant.permission !== 'write') return 'its grant is read-only; deploying needs write'
    if (!covers(rule.repoGlobs, request.repo)) {
      return `repo ${shownValue(request.repo)} is not in its grant (repos: ${rule.grant.repos.join(', ')})`
    }
    if (rule.environmentGlobs.length === 0) return 'its grant allows no deploys (no environments)'
    if (!covers(rule.environmentGlobs, request.environment)) {
      const allowed = rule.grant.environments.join(', ')
      return `environment ${shownValue(request.environment)} is not in its grant (environments: ${allowed})`
    }
    if (request.overrideHold && !rule.grant.overrideHolds) {
      return 'its grant does not allow overriding holds (overrideHolds is false)'
    }
    return undefined
  }
}

/** A promotion needs its own grant: deploy rights to `to` alone do not let a caller copy from `from`. */
function promoteCheck(request: PromoteRequest): GrantCheck {
  return (rule) => {
    if (rule.grant.permission !== 'write') return 'its grant is read-only; promoting needs write'
    if (!covers(rule.repoGlobs, request.repo)) {
      return `repo ${shownValue(request.repo)} is not in its grant (repos: ${rule.grant.repos.join(', ')})`
    }
    if (rule.promote.length === 0) return 'its grant allows no promotions (no promote)'
    if (!rule.promote.some((p) => p.from === request.from && p.to === request.to)) {
      const paths = rule.promote.map((p) => `${p.from} → ${p.to}`).join(', ')
      return `promotion ${shownValue(request.from)} → ${shownValue(request.to)} is not in its grant (promote: ${paths})`
    }
    return undefined
  }
}

function readCheck(repo: string): GrantCheck {
  return (rule) =>
    covers(rule.repoGlobs, repo)
      ? undefined
      : `repo ${shownValue(repo)} is not in its grant (repos: ${rule.grant.repos.join(', ')})`
}

/** The three decisions over a compiled policy. */
export function evaluator(policy: CompiledPolicy) {
  return {
    authorizeMint: (identity: CallerIdentity, request: MintRequest): Decision =>
      decide(policy, identity, mintCheck(request), mintTtl(request)),
    authorizeDeploy: (identity: CallerIdentity, request: DeployRequest): Decision =>
      decide(policy, identity, deployCheck(request)),
    authorizeRead: (identity: CallerIdentity, repo: string): Decision => decide(policy, identity, readCheck(repo)),
    authorizePromote: (identity: CallerIdentity, request: PromoteRequest): Decision =>
      decide(policy, identity, promoteCheck(request), (rule) => ({ promote: rule.promote.find((p) => p.from === request.from && p.to === request.to)! })),
  }
}
