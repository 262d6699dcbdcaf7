/**
 * Which events may change which config. Compiled into the events bundle from
 * config/deploy-mapping.json and validated when the module loads (a broken
 * mapping fails the function's init, loudly, rather than dropping events).
 *
 *   {
 *     "ecr": [{
 *       "ecrRepository": "acme/app",         anchored glob (* = any run, ? = one char)
 *       "tagPattern": "v*",                  anchored glob on the image tag (default "*")
 *       "repo": "deploy-configs",            config repo to update
 *       "environments": ["staging"],         environment files to update
 *       "pointer": "/image",                 key to set (default the layout's image pointer)
 *       "imageFormat": "{registry}/{repository}:{tag}",
 *       "writeDigest": true                  also set <pointer>Digest to the pushed digest (default false)
 *     }],
 *     "deployRequests": [{ "repo": "deploy-configs", "environments": ["staging"] }],
 *     "promotions": [{ "repo": "deploy-configs", "digest": "field" }],
 *     "autoPromote": [{ "repo": "deploy-configs", "from": "staging", "to": "production", "minSoak": "30m" }]
 *   }
 *
 * imageFormat placeholders: {registry} ({account}.dkr.ecr.{region}.amazonaws.com),
 * {account}, {region}, {repository}, {tag}, {digest}. A format without {tag}
 * (for example "{registry}/{repository}@{digest}") also maps untagged pushes.
 * `deployRequests` lists where custom "Deploy Requested" events may write.
 * `promotions` says per config repo how a promotion writes the digest it
 * copies (lib/deploys/promote.ts): "field" (default; `/image` as in the source
 * plus `/imageDigest`) or "reference" (`/image` = `name:tag@sha256:…`).
 */
import { validateEnvironmentName, validateRepoRef } from '../lib/deploys/change.js'
import { parsePointer } from '../lib/deploys/json-pointer.js'
import { ConfigError } from '../lib/errors.js'
import { DEFAULT_PROMOTION_SETTINGS, type PromotionSettings } from '../lib/deploys/digest.js'
import { CHECK_NAME_RE } from '../lib/policy/check-name.js'
import { parseDuration } from '../lib/duration.js'
import type { PromoteGrant } from '../lib/policy/types.js'

export interface EcrRule {
  ecrRepository: string
  tagPattern: string
  repo: string
  environments: string[]
  pointer?: string
  imageFormat: string
  /** Also write the pushed digest to `<pointer>Digest` (lib/deploys/digest.ts). */
  writeDigest: boolean
  matchRepository: (name: string) => boolean
  matchTag: (tag: string) => boolean
}

export interface DeployMapping {
  ecr: EcrRule[]
  deployRequests: Array<{ repo: string; environments: string[] }>
  /** Per config repo; repos not listed get DEFAULT_PROMOTION_SETTINGS. */
  promotions: Array<{ repo: string } & PromotionSettings>
  /** Promotions the schedule runs once their gates pass (infra: the schedule is off unless enabled). */
  autoPromote: AutoPromotion[]
}

export interface AutoPromotion {
  repo: string
  /** The path and its gates, as a policy promote grant would give them. */
  gate: PromoteGrant
}

const PLACEHOLDERS = new Set(['registry', 'account', 'region', 'repository', 'tag', 'digest'])

/** Anchored glob: `*` any run of characters, `?` one character, everything else literal. */
export function compileSimpleGlob(pattern: string): (value: string) => boolean {
  const source = pattern.replace(/[\\^$.+()[\]{}|/]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')
  const re = new RegExp(`^${source}$`)
  return (value) => re.test(value)
}

function fail(where: string, what: string): never {
  throw new ConfigError(`config/deploy-mapping.json ${where}: ${what}`)
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) fail(where, 'environments must be a non-empty list of names')
  return v.map((e) => {
    try {
      return validateEnvironmentName(e)
    } catch (err) {
      fail(where, (err as Error).message)
    }
  })
}

export function loadMapping(doc: unknown): DeployMapping {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('', 'must be an object with "ecr" and "deployRequests"')
  const d = doc as Record<string, unknown>
  for (const k of Object.keys(d)) if (!['ecr', 'deployRequests', 'promotions', 'autoPromote', '$comment'].includes(k)) fail('', `unknown key "${k}"`)
  const ecrIn = d.ecr ?? []
  const reqIn = d.deployRequests ?? []
  if (!Array.isArray(ecrIn) || !Array.isArray(reqIn)) fail('', '"ecr" and "deployRequests" must be lists')
  const ecr = ecrIn.map((r: unknown, i: number): EcrRule => {
    const where = `ecr[${i}]`
    if (typeof r !== 'object' || r === null) fail(where, 'must be an object')
    const x = r as Record<string, unknown>
    if (typeof x.ecrRepository !== 'string' || x.ecrRepository === '') fail(where, 'ecrRepository is required')
    const tagPattern = x.tagPattern ?? '*'
    if (typeof tagPattern !== 'string' || tagPattern === '') fail(where, 'tagPattern must be a non-empty string')
    let repo: string
    try {
      repo = validateRepoRef(x.repo)
    } catch (err) {
      fail(where, (err as Error).message)
    }
    if (x.pointer !== undefined) {
      try {
        if (typeof x.pointer !== 'string' || parsePointer(x.pointer).length === 0) throw new Error('pointer must name a key')
      } catch (err) {
        fail(where, (err as Error).message)
      }
    }
    const imageFormat = x.imageFormat ?? '{registry}/{repository}:{tag}'
    if (typeof imageFormat !== 'string') fail(where, 'imageFormat must be a string')
    if (x.writeDigest !== undefined && typeof x.writeDigest !== 'boolean') fail(where, 'writeDigest must be true or false')
    for (const m of imageFormat.matchAll(/\{([^}]*)\}/g)) if (!PLACEHOLDERS.has(m[1]!)) fail(where, `unknown placeholder {${m[1]}} in imageFormat`)
    return {
      ecrRepository: x.ecrRepository,
      tagPattern,
      repo,
      environments: stringList(x.environments, where),
      ...(typeof x.pointer === 'string' ? { pointer: x.pointer } : {}),
      imageFormat,
      writeDigest: x.writeDigest === true,
      matchRepository: compileSimpleGlob(x.ecrRepository),
      matchTag: compileSimpleGlob(tagPattern),
    }
  })
  const deployRequests = reqIn.map((r: unknown, i: number) => {
    const where = `deployRequests[${i}]`
    if (typeof r !== 'object' || r === null) fail(where, 'must be an object')
    const x = r as Record<string, unknown>
    let repo: string
    try {
      repo = validateRepoRef(x.repo)
    } catch (err) {
      fail(where, (err as Error).message)
    }
    return { repo, environments: stringList(x.environments, where) }
  })
  const promotionsIn = d.promotions ?? []
  if (!Array.isArray(promotionsIn)) fail('', '"promotions" must be a list')
  const seen = new Set<string>()
  const promotions = promotionsIn.map((r: unknown, i: number) => {
    const where = `promotions[${i}]`
    if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(where, 'must be an object')
    const x = r as Record<string, unknown>
    for (const k of Object.keys(x)) if (k !== 'repo' && k !== 'digest') fail(where, `unknown key "${k}"`)
    let repo: string
    try {
      repo = validateRepoRef(x.repo)
    } catch (err) {
      fail(where, (err as Error).message)
    }
    if (seen.has(repo)) fail(where, `repo ${repo} is listed twice`)
    seen.add(repo)
    const digest = x.digest ?? DEFAULT_PROMOTION_SETTINGS.digest
    if (digest !== 'field' && digest !== 'reference') fail(where, 'digest must be "field" or "reference"')
    return { repo, digest: digest as PromotionSettings['digest'] }
  })
  return { ecr, deployRequests, promotions, autoPromote: loadAutoPromote(d.autoPromote ?? []) }
}

/** `autoPromote: [{repo, from, to, minSoak?: "30m", requireChecks?: [..]}]`, each path once. */
function loadAutoPromote(input: unknown): AutoPromotion[] {
  if (!Array.isArray(input)) fail('', '"autoPromote" must be a list')
  const seen = new Set<string>()
  return input.map((r: unknown, i: number) => {
    const where = `autoPromote[${i}]`
    if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(where, 'must be an object')
    const x = r as Record<string, unknown>
    for (const k of Object.keys(x)) if (!['repo', 'from', 'to', 'minSoak', 'requireChecks'].includes(k)) fail(where, `unknown key "${k}"`)
    let repo: string
    let from: string
    let to: string
    try {
      repo = validateRepoRef(x.repo)
      from = validateEnvironmentName(x.from as string)
      to = validateEnvironmentName(x.to as string)
    } catch (err) {
      fail(where, (err as Error).message)
    }
    if (from === to) fail(where, 'from and to must differ')
    const key = `${repo}\u0000${from}\u0000${to}`
    if (seen.has(key)) fail(where, `${repo} ${from} -> ${to} is listed twice`)
    seen.add(key)
    const minSoakSeconds = x.minSoak === undefined ? 0 : parseDuration(x.minSoak as string)
    if (minSoakSeconds === undefined) fail(where, 'minSoak must be a duration such as "30m"')
    const checks = x.requireChecks ?? []
    if (!Array.isArray(checks) || !checks.every((c) => typeof c === 'string' && CHECK_NAME_RE.test(c))) {
      fail(where, 'requireChecks must be a list of check names')
    }
    return { repo, gate: { from, to, minSoakSeconds, requireChecks: checks as string[] } }
  })
}

/** How promotions in `repo` write digests. */
export function promotionSettingsFor(mapping: DeployMapping, repo: string): PromotionSettings {
  const entry = mapping.promotions.find((p) => p.repo === repo)
  return entry ? { digest: entry.digest } : DEFAULT_PROMOTION_SETTINGS
}

export interface EcrPush {
  account: string
  region: string
  repository: string
  digest: string
  tag?: string
}

/** Every pointer the mapping writes image references to, for ConfigLayout.imagePointers. */
export function imagePointersOf(mapping: DeployMapping): string[] {
  return [...new Set(mapping.ecr.flatMap((rule) => (rule.pointer ? [rule.pointer] : [])))]
}

/** The rules that apply to a push, each with the image reference it produces. */
export function matchEcr(mapping: DeployMapping, push: EcrPush): Array<{ rule: EcrRule; image: string }> {
  const out: Array<{ rule: EcrRule; image: string }> = []
  for (const rule of mapping.ecr) {
    if (!rule.matchRepository(push.repository)) continue
    const needsTag = rule.imageFormat.includes('{tag}')
    if (push.tag === undefined ? needsTag || rule.tagPattern !== '*' : !rule.matchTag(push.tag)) continue
    const values: Record<string, string> = {
      registry: `${push.account}.dkr.ecr.${push.region}.amazonaws.com`,
      account: push.account,
      region: push.region,
      repository: push.repository,
      tag: push.tag ?? '',
      digest: push.digest,
    }
    out.push({ rule, image: rule.imageFormat.replace(/\{([^}]*)\}/g, (_m, k: string) => values[k] ?? '') })
  }
  return out
}

/** Whether a custom deploy request may write to repo/environment. */
export function allowsDeployRequest(mapping: DeployMapping, repo: string, environment: string): boolean {
  return mapping.deployRequests.some((r) => r.repo === repo && r.environments.includes(environment))
}
