/**
 * Durations, one grammar for the whole product: `90s`, `15m`, `1h`, `1h30m`
 * (units in that order, each at most once, case-insensitive), as whole
 * seconds. Configuration (the policy, the deploy mapping, OIDC settings) may
 * also give a bare number of seconds; request bodies may not, since a bare
 * `60` in a CI job's request is as likely meant as minutes.
 */
import { ValidationError } from './errors.js'

const DURATION_RE = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?$/

/**
 * Seconds in a duration, or undefined if it is not one. `bareSeconds`
 * (configuration only) also takes a number, or a string of digits, as seconds.
 */
export function durationSeconds(input: string | number, options: { bareSeconds?: boolean } = {}): number | undefined {
  if (typeof input === 'number') return options.bareSeconds && Number.isSafeInteger(input) && input >= 0 ? input : undefined
  const text = input.trim().toLowerCase()
  if (text === '') return undefined
  if (/^\d+$/.test(text)) return options.bareSeconds && text.length <= 9 ? Number(text) : undefined
  const m = DURATION_RE.exec(text)
  if (!m) return undefined
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
}

/** A configured duration (bare seconds allowed), or undefined if it is not one. */
export function parseDuration(input: string | number): number | undefined {
  return durationSeconds(input, { bareSeconds: true })
}

export interface DurationLimits {
  /** Inclusive upper bound in seconds. */
  maxSeconds?: number
  /** Inclusive lower bound in seconds. Default 1. */
  minSeconds?: number
}

/**
 * A duration from a request (units required), in seconds within `limits`;
 * a ValidationError naming `field` says what a valid value looks like.
 */
export function parseRequestDuration(input: unknown, field: string, limits: DurationLimits = {}): number {
  const example = `a duration like "15m", "1h" or "1h30m"`
  if (typeof input !== 'string') throw new ValidationError(`${field} must be ${example}`, field)
  const seconds = durationSeconds(input)
  if (seconds === undefined) throw new ValidationError(`${field} "${clip(input)}" is not ${example}`, field)
  return checkSeconds(seconds, field, limits)
}

/** Validates a number of seconds against the same bounds (for `ttlSeconds` fields). */
export function checkSeconds(seconds: unknown, field: string, limits: DurationLimits = {}): number {
  const min = limits.minSeconds ?? 1
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds)) {
    throw new ValidationError(`${field} must be a whole number of seconds`, field)
  }
  if (seconds < min) throw new ValidationError(`${field} must be at least ${formatDuration(min)}`, field)
  if (limits.maxSeconds !== undefined && seconds > limits.maxSeconds) {
    throw new ValidationError(`${field} must be at most ${formatDuration(limits.maxSeconds)}`, field)
  }
  return seconds
}

/** 5400 -> '1h30m'; 90 -> '1m30s'; 0 or less -> '0s'. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`
}

// Echo a little of the bad value so the caller recognises it, never a whole body.
function clip(v: string): string {
  return v.length > 32 ? `${v.slice(0, 32)}…` : v
}
