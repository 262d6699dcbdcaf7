/**
 * Decides requests against compiled rules. Deny by default; rules are tried
 * in document order and the first rule that both matches the caller and
 * covers the whole request decides (grants are never merged). Every decision
 * carries a trace: per rule tried, whether it matched, or the first condition
 * that failed, in words.
 */
import { redact } from '../audit/logger.js'
import type { CallerIdentity } from '../auth/types.js'
import { formatDuration } from './duration.js'
import type { Glob } from './glob.js'
import type { CompiledPolicy, CompiledRule } from './load.js'
import type { Decision, DeployRequest, MintRequest, RuleTrace } from './types.js'

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

/** Claim values a pattern can be tested against: scalars as strings; arrays element-wise. */
function candidates(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (typeof value === 'number' && Number.isFinite(value)) return [String(value)]
  if (typeof value === 'boolean') return [String(value)]
  if (Array.isArray(value)) {
    const items = value.flatMap((v) => candidates(v) ?? [])
    return items.length > 0 ? items : undefined
  }
  return undefined
}

function anyMatch(globs: Glob[], values: string[]): boolean {
  return values.some((value) => globs.some((g) => g.test(value)))
}

/** Why the rule does not match the caller, or undefined if it does. */
function identityMismatch(rule: CompiledRule, identity: CallerIdentity): string | undefined {
  if (rule.brokerKey !== undefined) {
    if (identity.kind !== 'broker-key') {
      return `rule is for broker key ${rule.brokerKey}; caller used an OIDC token`
    }
    if (identity.keyName !== rule.brokerKey) {
      return `broker key is ${identity.keyName ?? '(unnamed)'}, rule wants ${rule.brokerKey}`
    }
    return undefined
  }
  const issuer = rule.issuer
  if (!issuer) return 'rule matches nothing'
  if (identity.kind !== 'oidc') {
    return `rule is for OIDC issuer ${issuer.name}; caller used broker key ${identity.keyName ?? ''}`.trim()
  }
  if (identity.issuer !== issuer.url) {
    return `issuer is ${shownValue(identity.issuer)}, rule wants ${issuer.name} (${issuer.url})`
  }
  for (const condition of rule.conditions) {
    const raw = identity.claims[condition.claim]
    const values = candidates(raw)
    if (!values) {
      return `claim ${condition.claim} is absent, rule wants ${shownPatterns(condition.globs)}`
    }
    if (!anyMatch(condition.globs, values)) {
      return `claim ${condition.claim} is ${shownValue(raw)}, rule wants ${shownPatterns(condition.globs)}`
    }
  }
  return undefined
}

function covers(globs: Glob[], value: string): boolean {
  return globs.some((g) => g.test(value))
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
    const mismatch = identityMismatch(rule, identity)
    if (mismatch) {
      trace.push({ rule: rule.name, matched: false, reason: mismatch })
      // The most useful hint is a rule for the same kind of caller (same issuer or a key).
      const sameSource =
        (rule.brokerKey !== undefined && identity.kind === 'broker-key') ||
        (rule.issuer !== undefined && rule.issuer.url === identity.issuer)
      if (!closest && sameSource) closest = { rule: rule.name, reason: mismatch }
      continue
    }
    const refusal = check(rule)
    if (refusal) {
      const reason = `matches the caller, but ${refusal}`
      trace.push({ rule: rule.name, matched: false, reason })
      partial ??= { rule: rule.name, reason: refusal }
      continue
    }
    trace.push({ rule: rule.name, matched: true })
    const extra = onAllow(rule)
    return {
      allowed: true,
      rule: rule.name,
      grant: { ...rule.grant, repos: [...rule.grant.repos], environments: [...rule.grant.environments] },
      reason: `allowed by rule ${rule.name}${extra.reason ? `; ${extra.reason}` : ''}`,
      trace,
      ...(extra.ttlSeconds !== undefined ? { ttlSeconds: extra.ttlSeconds, clamped: extra.clamped ?? false } : {}),
    }
  }
  let reason: string
  if (policy.rules.length === 0) {
    reason = 'denied: the policy has no rules (deny by default)'
  } else if (partial) {
    reason = `denied: rule ${partial.rule} matches this caller, but ${partial.reason}`
  } else {
    reason = `denied: no rule matches ${identity.subject}`
    if (closest) reason += ` (rule ${closest.rule}: ${closest.reason})`
  }
  return { allowed: false, reason, trace }
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
  }
}
