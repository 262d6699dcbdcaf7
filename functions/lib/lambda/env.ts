/**
 * Reading the Lambda environment (docs/env-contract.md). Values are
 * trimmed and a blank value counts as unset, so a variable left empty by a
 * template behaves like a missing one. Errors are ConfigErrors (500) that
 * name the variable and never echo its value: ARNs and URLs stay out of
 * problem bodies.
 */
import { ConfigError } from '../errors.js'

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
