/**
 * The one place every function reads its configuration from the Lambda
 * environment (docs/env-contract.md lists each variable). Values are
 * trimmed and a blank value counts as unset, so a variable left empty by a
 * template behaves like a missing one. Errors are ConfigErrors (500) that
 * name the variable and never echo its value: ARNs and URLs stay out of
 * problem bodies.
 */
import { ConfigError } from '../errors.js'
import type { LoadedPolicy } from '../policy/index.js'
import type { StateConfig } from '../state/index.js'
import { RATE_LIMITS } from '../state/rate-limit.js'
import { isRepoSlug } from '../repo-ref.js'
import { DEFAULT_STATUS_REPO } from '../status/service.js'

/** The process environment, or a stand-in for it in tests. */
export type Env = Record<string, string | undefined>

/** Trimmed reads of one environment. */
export interface EnvVars {
  /** The value, or undefined when unset or blank. */
  optional(name: string): string | undefined
  /** The value; a ConfigError saying `why` it is needed when unset or blank. */
  required(name: string, why: string): string
}

/** Wraps `env` for trimmed, checked reads. */
export function envVars(env: Env): EnvVars {
  const optional = (name: string) => env[name]?.trim() || undefined
  return {
    optional,
    required(name, why) {
      const v = optional(name)
      if (!v) throw new ConfigError(`Missing environment variable ${name} (${why}).`)
      return v
    },
  }
}

/** SECRET_CACHE_TTL_SECONDS (default 300, at most a day), in milliseconds. */
export function secretCacheTtlMs(vars: EnvVars): number {
  const text = vars.optional('SECRET_CACHE_TTL_SECONDS') ?? '300'
  if (!/^\d+$/.test(text) || Number(text) > 86_400) {
    throw new ConfigError('SECRET_CACHE_TTL_SECONDS must be a whole number of seconds between 0 and 86400.')
  }
  return Number(text) * 1000
}

/** GITHOSTED_URL (default https://api.githosted.dev); must parse as a URL. */
export function githostedUrl(vars: EnvVars): string {
  const url = vars.optional('GITHOSTED_URL') ?? 'https://api.githosted.dev'
  if (!URL.canParse(url)) throw new ConfigError('GITHOSTED_URL is not a URL.')
  return url
}

/** A per-minute request limit from `name` (whole number 1-1000000), or `fallback` when unset. */
export function perMinuteLimit(vars: EnvVars, name: string, fallback: number): number {
  const text = vars.optional(name)
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) {
    throw new ConfigError(`${name} must be a whole number of requests per minute between 1 and 1000000.`)
  }
  return Number(text)
}

/** BROKER_KEYS_SECRET_ARN: required when the policy has broker-key rules, else used when set. */
export function brokerKeysSecretArn(vars: EnvVars, policy: LoadedPolicy): string | undefined {
  return policy.brokerKeyNames.length > 0
    ? vars.required('BROKER_KEYS_SECRET_ARN', 'the policy has broker-key rules')
    : vars.optional('BROKER_KEYS_SECRET_ARN')
}

/** OIDC_AUDIENCE when the policy trusts OIDC issuers (required then); undefined otherwise. */
export function requiredOidcAudience(vars: EnvVars, policy: LoadedPolicy): string | undefined {
  return policy.issuers.length > 0 ? vars.required('OIDC_AUDIENCE', 'the policy trusts OIDC issuers') : undefined
}

/** What every function that reaches githosted and the state table reads. */
export interface BaseConfig {
  githostedUrl: string
  secretCacheTtlMs: number
  state: StateConfig
}

/** The token and deploy functions: the same variables (docs/env-contract.md lists them together). */
export interface TokenConfig extends BaseConfig {
  workspaceTokenSecretArn: string
  brokerKeysSecretArn?: string
  oidcAudience?: string
}

export function readBaseConfig(vars: EnvVars): BaseConfig {
  const secretTtl = secretCacheTtlMs(vars)
  const url = githostedUrl(vars)
  return { githostedUrl: url, secretCacheTtlMs: secretTtl, state: readStateConfig(vars) }
}

export function readWorkspaceTokenArn(vars: EnvVars): string {
  return vars.required('WORKSPACE_TOKEN_SECRET_ARN', 'the secret holding the workspace token')
}

/** Reads and checks the environment; messages name the variable, never a value. */
export function readTokenConfig(env: Env, policy: LoadedPolicy): TokenConfig {
  const vars = envVars(env)
  const config: TokenConfig = { workspaceTokenSecretArn: readWorkspaceTokenArn(vars), ...readBaseConfig(vars) }
  const keys = brokerKeysSecretArn(vars, policy)
  if (keys) config.brokerKeysSecretArn = keys
  const audience = requiredOidcAudience(vars, policy)
  if (audience) config.oidcAudience = audience
  return config
}

/** The per-identity and per-source-address limits of one HTTP function, per minute. */
export interface FunctionLimits {
  scope: (typeof RATE_LIMITS)['token' | 'deploy' | 'status']['scope']
  perIdentity: number
  perSourceIp: number
}

const LIMIT_VARIABLES = {
  token: 'TOKEN_RATE_LIMIT_PER_MINUTE',
  deploy: 'DEPLOY_RATE_LIMIT_PER_MINUTE',
  status: 'STATUS_RATE_LIMIT_PER_MINUTE',
} as const

export function readLimits(env: Env, fn: keyof typeof LIMIT_VARIABLES): FunctionLimits {
  const vars = envVars(env)
  return {
    scope: RATE_LIMITS[fn].scope,
    perIdentity: perMinuteLimit(vars, LIMIT_VARIABLES[fn], RATE_LIMITS[fn].limit),
    perSourceIp: perMinuteLimit(vars, 'SOURCE_IP_RATE_LIMIT_PER_MINUTE', RATE_LIMITS.sourceIp.limit),
  }
}

/** STATE_TABLE_NAME (required: guarantees across containers depend on it), AWS_REGION, STATE_TABLE_ENDPOINT. */
export function readStateConfig(vars: EnvVars): StateConfig {
  const tableName = vars.required('STATE_TABLE_NAME', 'the DynamoDB table for replay, revocation, rate limits, idempotency, event order and write leases')
  const region = vars.optional('AWS_REGION') ?? vars.optional('AWS_DEFAULT_REGION')
  if (!region) throw new ConfigError('Missing environment variable AWS_REGION (the state table\'s region).')
  const endpoint = vars.optional('STATE_TABLE_ENDPOINT')
  if (endpoint && !URL.canParse(endpoint)) throw new ConfigError('STATE_TABLE_ENDPOINT is not a URL.')
  const timeout = vars.optional('STATE_TABLE_TIMEOUT_MS')
  if (timeout !== undefined && (!/^\d+$/.test(timeout) || Number(timeout) < 100 || Number(timeout) > 20_000)) {
    throw new ConfigError('STATE_TABLE_TIMEOUT_MS must be a whole number of milliseconds between 100 and 20000.')
  }
  return { tableName, region, ...(endpoint ? { endpoint } : {}), ...(timeout ? { timeoutMs: Number(timeout) } : {}) }
}

/** The status function: its read token, the repo it shows, and the optional dashboard credential. */
export interface StatusConfig extends BaseConfig {
  dashboardTokenSecretArn: string
  brokerKeysSecretArn?: string
  oidcAudience?: string
  viewerCredentialSecretArn?: string
  repo: string
}

/** Reads and checks the environment; messages name the variable, never a value. */
export function readStatusConfig(env: Env, policy: LoadedPolicy): StatusConfig {
  const vars = envVars(env)
  const repo = vars.optional('STATUS_REPO') ?? DEFAULT_STATUS_REPO
  if (!isRepoSlug(repo)) throw new ConfigError('STATUS_REPO is not a repo slug.')
  const config: StatusConfig = {
    dashboardTokenSecretArn: vars.required('DASHBOARD_TOKEN_SECRET_ARN', 'the secret holding the read-only gr_ token'),
    repo,
    ...readBaseConfig(vars),
  }
  const keys = brokerKeysSecretArn(vars, policy)
  if (keys) config.brokerKeysSecretArn = keys
  // Unlike token/deploy, an audience set without trusted issuers is still passed on.
  const audience = vars.optional('OIDC_AUDIENCE') ?? requiredOidcAudience(vars, policy)
  if (audience) config.oidcAudience = audience
  // Optional: without it the dashboard page stays closed (the JSON API still works).
  const viewer = vars.optional('VIEWER_CREDENTIAL_SECRET_ARN')
  if (viewer) config.viewerCredentialSecretArn = viewer
  return config
}
