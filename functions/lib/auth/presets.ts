/**
 * What the broker knows about each CI platform's OIDC tokens: the default
 * issuer, which claims say who the caller is (a policy rule must pin one of
 * them, or it would trust every tenant of a shared issuer), how to turn the
 * claims into a readable subject for audit lines and githosted's `subject`,
 * and how to link back to the CI run. Claim shapes follow each vendor's docs
 * (see the README's policy section).
 */

export type PresetName = 'github' | 'gitlab' | 'circleci' | 'buildkite' | 'custom'

export const PRESET_NAMES: readonly PresetName[] = ['github', 'gitlab', 'circleci', 'buildkite', 'custom']

/** One trusted OIDC issuer, as configured in the policy's `issuers` section. */
export interface IssuerConfig {
  /** The policy's name for it (rules refer to this). */
  name: string
  preset: PresetName
  /** The exact `iss` value. */
  url: string
  /** JWKS URL; when absent it is discovered from `<url>/.well-known/openid-configuration`. */
  jwksUri?: string
  /** Web UI base for CI run links (GHES, self-managed GitLab) when it differs from the issuer. */
  serverUrl?: string
  /** custom preset only: claims that identify the caller (default `['sub']`). */
  identityClaims?: string[]
}

/**
 * A claim that identifies the caller. A rule's pattern for it must be fully
 * literal, or (when `prefix` is set) its literal text before the first
 * wildcard must match `prefix`, so that `acme/*` passes and `*\/app` does not.
 */
export interface IdentityClaim {
  claim: string
  prefix?: RegExp
  /** What the literal part must pin, in words, for error messages. */
  pins: string
  /** Pinned exactly, it names an immutable id (a name can be re-registered after a rename). */
  immutable?: boolean
}

export interface IssuerPreset {
  name: PresetName
  defaultUrl?: string
  identityClaims(issuer: IssuerConfig): IdentityClaim[]
  /** Rules must pin an immutable id, not only names (GitHub recommends against name-only trust). */
  requiresImmutableId?: boolean
  /**
   * What stays the same across runs, attempts, jobs and environments of one
   * caller (repository or project id): rate limits are keyed on it, so
   * varying `run_attempt` or `environment` does not buy a fresh budget.
   */
  stableId(claims: Record<string, unknown>, issuer: IssuerConfig): string
  subject(claims: Record<string, unknown>, issuer: IssuerConfig): string
  ciRunUrl(claims: Record<string, unknown>, issuer: IssuerConfig): string | undefined
}

const MAX_PART = 200

/** A claim as a short printable string; non-scalars and absent claims become `-`. */
function part(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    const text = String(value).replace(/[\u0000-\u001f\u007f\s]+/g, '_')
    return text.length > MAX_PART ? text.slice(0, MAX_PART) : text || '-'
  }
  return '-'
}

// Segments of slugs and paths that are safe to put in a link: no `.`/`..` segments.
const SEGMENT = '(?!\\.\\.?(?:/|$))[A-Za-z0-9_.-]+'
const OWNER_REPO = new RegExp(`^${SEGMENT}/${SEGMENT}$`)
const SLUG_PATH = new RegExp(`^${SEGMENT}(?:/${SEGMENT})+$`)
const SLUG = new RegExp(`^${SEGMENT}$`)
const DIGITS = /^\d+$/

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/** The GitHub web UI that belongs to an Actions token issuer, when it can be told. */
export function githubServerUrl(issuer: IssuerConfig): string | undefined {
  if (issuer.serverUrl) return issuer.serverUrl.replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(issuer.url)
  } catch {
    return undefined
  }
  if (url.hostname === 'token.actions.githubusercontent.com') return 'https://github.com'
  const ghe = /^token\.actions\.([a-z0-9-]+)\.ghe\.com$/.exec(url.hostname)
  if (ghe) return `https://${ghe[1]}.ghe.com`
  if (url.pathname.replace(/\/+$/, '') === '/_services/token') return url.origin
  return undefined
}

const github: IssuerPreset = {
  name: 'github',
  defaultUrl: 'https://token.actions.githubusercontent.com',
  identityClaims: () => [
    { claim: 'repository', prefix: /^[^/*:]+\//, pins: 'the owner (e.g. acme/*)' },
    { claim: 'repository_id', pins: 'an exact id', immutable: true },
    { claim: 'repository_owner', pins: 'an exact owner' },
    { claim: 'repository_owner_id', pins: 'an exact id', immutable: true },
    {
      claim: 'sub',
      prefix: /^(?:repo:[^/*:]+\/|repository_owner(?:_id)?:[^/*:]+:|repository(?:_id)?:[^*:]+:)/,
      pins: 'the owner (e.g. repo:acme/*:ref:refs/heads/main)',
    },
  ],
  requiresImmutableId: true,
  stableId: (c) => `repository_id:${part(c.repository_id ?? c.repository)}`,
  subject(c) {
    const who = str(c.repository) ?? str(c.sub)
    let s = `github:${part(who)}:ref:${part(c.ref)}`
    if (str(c.environment)) s += `:environment:${part(c.environment)}`
    if (str(c.run_id)) s += `:run:${part(c.run_id)}:attempt:${part(c.run_attempt)}`
    return s
  },
  ciRunUrl(c, issuer) {
    const server = githubServerUrl(issuer)
    const repo = str(c.repository)
    const run = str(c.run_id)
    const attempt = str(c.run_attempt) ?? '1'
    if (!server || !repo || !OWNER_REPO.test(repo) || !run || !DIGITS.test(run)) return undefined
    if (!DIGITS.test(attempt)) return undefined
    return `${server}/${repo}/actions/runs/${run}/attempts/${attempt}`
  },
}

const gitlab: IssuerPreset = {
  name: 'gitlab',
  defaultUrl: 'https://gitlab.com',
  identityClaims: () => [
    { claim: 'project_path', prefix: /^[^/*:]+\//, pins: 'the top-level group (e.g. acme/*)' },
    { claim: 'project_id', pins: 'an exact id', immutable: true },
    { claim: 'namespace_path', prefix: /^[^/*:]+\//, pins: 'the top-level group' },
    { claim: 'namespace_id', pins: 'an exact id', immutable: true },
    { claim: 'sub', prefix: /^project_path:[^/*:]+\//, pins: 'the group (e.g. project_path:acme/*:…)' },
  ],
  stableId: (c) => `project_id:${part(c.project_id ?? c.project_path)}`,
  subject(c) {
    let s = `gitlab:${part(c.project_path)}:ref:${part(c.ref)}`
    if (str(c.environment)) s += `:environment:${part(c.environment)}`
    if (str(c.pipeline_id)) s += `:pipeline:${part(c.pipeline_id)}`
    if (str(c.job_id)) s += `:job:${part(c.job_id)}`
    return s
  },
  ciRunUrl(c, issuer) {
    const base = (issuer.serverUrl ?? issuer.url).replace(/\/+$/, '')
    const project = str(c.project_path)
    const pipeline = str(c.pipeline_id)
    if (!project || !SLUG_PATH.test(project) || !pipeline || !DIGITS.test(pipeline)) return undefined
    return `${base}/${project}/-/pipelines/${pipeline}`
  },
}

const CIRCLE = 'oidc.circleci.com/'

const circleci: IssuerPreset = {
  name: 'circleci',
  // One issuer per organization (https://oidc.circleci.com/org/<org-id>): no default.
  identityClaims: () => [
    { claim: `${CIRCLE}project-id`, pins: 'an exact project id', immutable: true },
    {
      claim: `${CIRCLE}vcs-origin`,
      prefix: /^[^/*:]+\/[^/*:]+\//,
      pins: 'the host and owner (e.g. github.com/acme/*)',
    },
    { claim: 'sub', prefix: /^org\/[^/*:]+\/project\/[^/*:]+(?:\/|$)/, pins: 'the org and project' },
  ],
  stableId: (c) => `project-id:${part(c[`${CIRCLE}project-id`])}`,
  subject(c) {
    const origin = str(c[`${CIRCLE}vcs-origin`])
    const project = c[`${CIRCLE}project-id`]
    const who = origin ?? `project/${part(project)}`
    return `circleci:${part(who)}:ref:${part(c[`${CIRCLE}vcs-ref`])}:project:${part(project)}`
  },
  ciRunUrl: () => undefined,
}

const buildkite: IssuerPreset = {
  name: 'buildkite',
  defaultUrl: 'https://agent.buildkite.com',
  // The issuer is shared by every Buildkite organization: only the org claims will do.
  identityClaims: () => [
    { claim: 'organization_slug', pins: 'an exact organization slug' },
    { claim: 'organization_id', pins: 'an exact organization id', immutable: true },
  ],
  // Buildkite tokens carry no pipeline id in every version; the slugs are what is stable across builds.
  stableId: (c) => `pipeline:${part(c.organization_id ?? c.organization_slug)}/${part(c.pipeline_id ?? c.pipeline_slug)}`,
  subject(c) {
    const ref = str(c.build_tag) ? `refs/tags/${part(c.build_tag)}` : `refs/heads/${part(c.build_branch)}`
    let s = `buildkite:${part(c.organization_slug)}/${part(c.pipeline_slug)}:ref:${ref}`
    if (str(c.build_number)) s += `:build:${part(c.build_number)}`
    if (str(c.job_id)) s += `:job:${part(c.job_id)}`
    return s
  },
  ciRunUrl(c, issuer) {
    const base = (issuer.serverUrl ?? 'https://buildkite.com').replace(/\/+$/, '')
    const org = str(c.organization_slug)
    const pipeline = str(c.pipeline_slug)
    const build = str(c.build_number)
    if (!org || !SLUG.test(org) || !pipeline || !SLUG.test(pipeline) || !build || !DIGITS.test(build)) {
      return undefined
    }
    return `${base}/${org}/${pipeline}/builds/${build}`
  },
}

const custom: IssuerPreset = {
  name: 'custom',
  identityClaims: (issuer) =>
    // We do not know a custom issuer's claim grammar, so identity claims must be exact.
    (issuer.identityClaims ?? ['sub']).map((claim) => ({ claim, pins: 'an exact value' })),
  stableId: (c, issuer) => (issuer.identityClaims ?? ['sub']).map((claim) => `${claim}:${part(c[claim])}`).join(':'),
  subject: (c, issuer) => `${issuer.name}:${part(c.sub)}`,
  ciRunUrl: () => undefined,
}

export const PRESETS: Record<PresetName, IssuerPreset> = { github, gitlab, circleci, buildkite, custom }

/** The preset for an issuer config. */
export function presetFor(issuer: IssuerConfig): IssuerPreset {
  return PRESETS[issuer.preset]
}
