/**
 * Turns a policy document into compiled rules, refusing anything that could
 * fail open: unknown fields, unknown issuers, OIDC rules that do not pin who
 * the caller is, catch-all patterns, zero or over-long TTLs. Every error names
 * the rule and the field, and is a ConfigError (the bundle build runs this, so
 * a bad policy never ships).
 *
 * Over 300 lines as one algorithm: a single compile pass whose checks are
 * read together to see that nothing fails open.
 */
import * as v from 'valibot'
import { isValidKeyName } from '../auth/broker-keys.js'
import { isAcceptableMetadataUrl } from '../auth/jwks.js'
import { PRESETS, type IdentityClaim, type IssuerConfig } from '../auth/presets.js'
import { ConfigError } from '../errors.js'
import type { Grant, PromoteGrant } from './types.js'
import { CHECK_NAME_RE } from './check-name.js'
import { parseDuration } from '../duration.js'
import { MAX_TOKEN_TTL_SECONDS } from '../githosted/limits.js'
import { compileGlob, globProblem, type Glob } from './glob.js'
import { issuerUrlProblem } from './issuer-url.js'
import { PolicyDocumentSchema, type PolicyDocument, type RuleDocument } from './schema.js'


export interface ClaimCondition {
  claim: string
  globs: Glob[]
  /**
   * A claim that says who the caller is (the preset's identity claims). These
   * are checked first, must be single values, and decide whether the caller
   * may see anything about the rule.
   */
  identity: boolean
}

export interface CompiledRule {
  name: string
  index: number
  issuer?: IssuerConfig
  brokerKey?: string
  conditions: ClaimCondition[]
  grant: Grant
  repoGlobs: Glob[]
  environmentGlobs: Glob[]
  /** Promotion paths, exact environment names (a glob here would be a path nobody reviewed). */
  promote: PromoteGrant[]
}

export interface CompiledPolicy {
  issuers: IssuerConfig[]
  rules: CompiledRule[]
}

export interface LoadPolicyOptions {
  /**
   * Issuer URLs that replace (or supply) the document's, by issuer name:
   * `npm start` passes the local OIDC issuer's URLs, whose port is only
   * known at run time. Naming an issuer the document lacks is an error.
   */
  issuerUrls?: Record<string, string>
}

/** Claims the broker verifies itself; matching on them would be meaningless or misleading. */
const RESERVED_CLAIMS = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'])
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const REPO_PATTERN_RE = /^[A-Za-z0-9_.*-]+$/
const ENV_PATTERN_RE = /^[A-Za-z0-9_.*-]+$/

function fail(message: string): never {
  throw new ConfigError(`policy: ${message}`)
}

function ruleLabel(raw: unknown, index: number): string {
  const rules = (raw as { rules?: unknown })?.rules
  const rule = Array.isArray(rules) ? (rules[index] as { name?: unknown } | undefined) : undefined
  return typeof rule?.name === 'string' ? `rule "${rule.name}" (rules[${index}])` : `rules[${index}]`
}

function describePath(raw: unknown, keys: Array<string | number>): string {
  if (keys[0] === 'rules' && typeof keys[1] === 'number') {
    const rest = keys.slice(2).join('.')
    return `${ruleLabel(raw, keys[1])}${rest ? ` ${rest}` : ''}`
  }
  return keys.length > 0 ? keys.join('.') : 'document'
}

function shapeError(raw: unknown, issue: v.BaseIssue<unknown>): never {
  const keys = (issue.path ?? []).map((p) => p.key as string | number)
  const last = keys[keys.length - 1]
  if (issue.type === 'strict_object' && last !== undefined) {
    if (issue.expected === 'never') fail(`${describePath(raw, keys)}: unknown field "${String(last)}"`)
    if (issue.input === undefined) {
      fail(`${describePath(raw, keys.slice(0, -1))}: missing required field "${String(last)}"`)
    }
  }
  if (issue.type === 'literal' && last === 'version') fail('version: must be 1')
  fail(`${describePath(raw, keys)}: ${issue.message}`)
}

function compileIssuers(doc: PolicyDocument, options: LoadPolicyOptions): IssuerConfig[] {
  const docs = doc.issuers ?? {}
  for (const name of Object.keys(options.issuerUrls ?? {})) {
    if (!(name in docs)) fail(`issuerUrls names issuer "${name}", which the policy does not define`)
  }
  const seen = new Map<string, string>()
  return Object.entries(docs).map(([name, d]) => {
    const at = `issuers.${name}`
    if (!NAME_RE.test(name)) fail(`${at}: issuer names are 1-64 chars of A-Z a-z 0-9 . _ -`)
    const url = options.issuerUrls?.[name] ?? d.url ?? PRESETS[d.preset].defaultUrl
    if (!url) fail(`${at}.url: preset ${d.preset} has no default issuer URL; set url`)
    const urlProblem = issuerUrlProblem(d, url)
    if (urlProblem) fail(`${at}.${urlProblem}`)
    if (d.serverUrl !== undefined && !isAcceptableMetadataUrl(d.serverUrl)) {
      fail(`${at}.serverUrl: must be https (http only on 127.0.0.1/localhost)`)
    }
    if (d.identityClaims !== undefined) {
      if (d.preset !== 'custom') fail(`${at}.identityClaims: only custom issuers set identityClaims`)
      if (d.identityClaims.length === 0 || d.identityClaims.some((c) => c.length === 0)) {
        fail(`${at}.identityClaims: list at least one claim name`)
      }
    }
    const other = seen.get(url)
    if (other) fail(`${at}.url: same issuer URL as issuers.${other}`)
    seen.set(url, name)
    const config: IssuerConfig = { name, preset: d.preset, url }
    if (d.jwksUri) config.jwksUri = d.jwksUri
    if (d.serverUrl) config.serverUrl = d.serverUrl
    if (d.identityClaims) config.identityClaims = d.identityClaims
    return config
  })
}

function compilePatterns(where: string, value: string | string[]): Glob[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) fail(`${where}: empty list of patterns`)
  return list.map((pattern, i) => {
    const problem = globProblem(pattern)
    if (problem) fail(`${where}${Array.isArray(value) ? `[${i}]` : ''}: ${problem}`)
    return compileGlob(pattern)
  })
}

/** Whether every alternative of a condition pins the caller the way `id` requires. */
function pinningProblem(id: IdentityClaim, globs: Glob[]): string | undefined {
  for (const g of globs) {
    if (!g.hasWildcard) continue
    if (!id.prefix || !id.prefix.test(g.literalPrefix)) {
      return `"${g.pattern}" does not pin ${id.pins}`
    }
  }
  return undefined
}

/** Whether some condition pins an immutable id exactly (no wildcard). */
function pinsImmutableId(identity: IdentityClaim[], conditions: ClaimCondition[]): boolean {
  return identity.some(
    (id) => id.immutable && conditions.some((c) => c.claim === id.claim && c.globs.every((g) => !g.hasWildcard)),
  )
}

/**
 * Why a repo grant is too broad, or undefined. githosted accepts repo ids
 * (`rp_…`) where it accepts slugs, so a glob that matches every id grants
 * every repo; a glob with no letter or digit (`*-*`) matches nearly every slug.
 */
function repoGlobBreadth(glob: Glob): string | undefined {
  if (!glob.hasWildcard) return undefined
  if (!/[A-Za-z0-9]/.test(glob.pattern.replace(/\*/g, ''))) return 'has no letter or digit outside its wildcards, so it matches nearly every repo'
  // An id suffix made of a character the pattern does not contain can only be absorbed by a
  // wildcard: if such ids match, every rp_ id does.
  const filler = [...'0123456789abcdefghijklmnopqrstuvwxyz'].find((ch) => !glob.pattern.toLowerCase().includes(ch)) ?? '0'
  if (glob.test(`rp_${filler}`) && glob.test(`rp_${filler.repeat(26)}`)) return 'matches every repo id (rp_…)'
  return undefined
}

function compileRule(
  raw: unknown,
  rule: RuleDocument,
  index: number,
  issuers: Map<string, IssuerConfig>,
): CompiledRule {
  const label = ruleLabel(raw, index)
  if (!NAME_RE.test(rule.name)) fail(`${label} name: 1-64 chars of A-Z a-z 0-9 . _ -`)
  const { match } = rule
  if ((match.issuer === undefined) === (match.brokerKey === undefined)) {
    fail(`${label} match: set exactly one of issuer or brokerKey`)
  }
  const conditions: ClaimCondition[] = []
  let issuer: IssuerConfig | undefined
  if (match.brokerKey !== undefined) {
    if (!isValidKeyName(match.brokerKey)) fail(`${label} match.brokerKey: not a valid key name`)
    if (match.claims !== undefined) fail(`${label} match.claims: broker key rules cannot match claims`)
  } else {
    issuer = issuers.get(match.issuer as string)
    if (!issuer) {
      const known = issuers.size > 0 ? [...issuers.keys()].join(', ') : 'none; add an issuers section'
      fail(`${label} match.issuer: unknown issuer "${match.issuer}" (defined: ${known})`)
    }
    for (const [claim, value] of Object.entries(match.claims ?? {})) {
      const where = `${label} match.claims.${claim}`
      if (claim.length === 0) fail(`${label} match.claims: empty claim name`)
      if (RESERVED_CLAIMS.has(claim)) fail(`${where}: the broker verifies "${claim}" itself; remove it`)
      conditions.push({ claim, globs: compilePatterns(where, value), identity: false })
    }
    const preset = PRESETS[issuer.preset]
    const identity = preset.identityClaims(issuer)
    let pinned = false
    for (const id of identity) {
      const condition = conditions.find((c) => c.claim === id.claim)
      if (!condition) continue
      const problem = pinningProblem(id, condition.globs)
      if (problem) fail(`${label} match.claims.${id.claim}: ${problem}`)
      condition.identity = true
      pinned = true
    }
    // Identity first: a caller from another tenant is turned away before any
    // other claim (and its attacker-chosen value) is looked at.
    conditions.sort((a, b) => Number(b.identity) - Number(a.identity))
    if (!pinned) {
      const names = identity.map((i) => i.claim).join(', ')
      fail(
        `${label} match.claims: a ${issuer.preset} rule must pin the caller with one of: ${names}` +
          (issuer.preset === 'buildkite' ? ' (the Buildkite issuer is shared by every organization)' : ''),
      )
    }
    if (preset.requiresImmutableId && !pinsImmutableId(identity, conditions)) {
      const ids = identity.filter((i) => i.immutable).map((i) => i.claim).join(' or ')
      fail(
        `${label} match.claims: a ${issuer.preset} rule must pin an immutable id (${ids}), not only names: ` +
          'a deleted or renamed owner or repository name can be registered again by someone else',
      )
    }
  }

  const g = rule.grant
  if (g.repos.length === 0) fail(`${label} grant.repos: list at least one repo`)
  const repoGlobs = g.repos.map((repo, i) => {
    const where = `${label} grant.repos[${i}]`
    const problem = globProblem(repo)
    if (problem) fail(`${where}: ${problem}`)
    if (!REPO_PATTERN_RE.test(repo)) fail(`${where}: repo slugs are A-Z a-z 0-9 . _ - (and * as a glob)`)
    const glob = compileGlob(repo)
    const broad = repoGlobBreadth(glob)
    if (broad) fail(`${where}: "${repo}" ${broad}; name the repos, or use a prefix such as app-*`)
    return glob
  })
  const maxTtlSeconds = parseDuration(g.maxTtl)
  if (maxTtlSeconds === undefined) fail(`${label} grant.maxTtl: not a duration (use e.g. 15m, 1h, 1h30m)`)
  if (maxTtlSeconds <= 0) fail(`${label} grant.maxTtl: must be more than zero`)
  if (maxTtlSeconds > MAX_TOKEN_TTL_SECONDS) fail(`${label} grant.maxTtl: at most 24h`)
  const environments = g.environments ?? []
  const environmentGlobs = environments.map((env, i) => {
    const where = `${label} grant.environments[${i}]`
    const problem = globProblem(env)
    if (problem) fail(`${where}: ${problem}`)
    if (!ENV_PATTERN_RE.test(env)) fail(`${where}: environment names are A-Z a-z 0-9 . _ - (and * as a glob)`)
    return compileGlob(env)
  })
  if (environments.length > 0 && g.permission !== 'write') {
    fail(`${label} grant.environments: deploying needs permission write`)
  }
  if (g.overrideHolds && environments.length === 0) {
    fail(`${label} grant.overrideHolds: needs environments to deploy to`)
  }
  const promote = (g.promote ?? []).map((p, i): PromoteGrant => {
    const where = `${label} grant.promote[${i}]`
    for (const side of ['from', 'to'] as const) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(p[side]) || p[side].includes('..')) {
        fail(`${where}.${side}: an environment name (letters, digits, . _ -; no globs)`)
      }
    }
    if (p.from === p.to) fail(`${where}: from and to are the same environment`)
    const minSoakSeconds = p.minSoak === undefined ? 0 : parseDuration(p.minSoak)
    if (minSoakSeconds === undefined) fail(`${where}.minSoak: not a duration (use e.g. 30m, 1h, 1h30m)`)
    const requireChecks = p.requireChecks ?? []
    requireChecks.forEach((c, j) => {
      if (!CHECK_NAME_RE.test(c)) fail(`${where}.requireChecks[${j}]: check names are 1-64 chars of A-Z a-z 0-9 . _ : / -`)
    })
    return { from: p.from, to: p.to, minSoakSeconds, requireChecks: [...requireChecks] }
  })
  if (promote.length > 0 && g.permission !== 'write') fail(`${label} grant.promote: promoting needs permission write`)
  const compiled: CompiledRule = {
    name: rule.name,
    index,
    conditions,
    grant: {
      repos: [...g.repos],
      permission: g.permission,
      maxTtlSeconds,
      environments: [...environments],
      overrideHolds: g.overrideHolds ?? false,
      promote,
    },
    repoGlobs,
    environmentGlobs,
    promote,
  }
  if (issuer) compiled.issuer = issuer
  if (match.brokerKey !== undefined) compiled.brokerKey = match.brokerKey
  return compiled
}

/** Validates and compiles a policy document. Throws ConfigError naming the rule and field. */
export function compilePolicy(raw: unknown, options: LoadPolicyOptions = {}): CompiledPolicy {
  const parsed = v.safeParse(PolicyDocumentSchema, raw)
  if (!parsed.success) shapeError(raw, parsed.issues[0] as v.BaseIssue<unknown>)
  const doc = parsed.output
  const issuers = compileIssuers(doc, options)
  const byName = new Map(issuers.map((i) => [i.name, i]))
  const names = new Set<string>()
  const rules = doc.rules.map((rule, index) => {
    if (names.has(rule.name)) fail(`${ruleLabel(raw, index)} name: duplicate rule name`)
    names.add(rule.name)
    return compileRule(raw, rule, index, byName)
  })
  return { issuers, rules }
}
