/**
 * Duration strings as CI users write them: `90s`, `15m`, `1h`, `1h30m`.
 * Units are required (a bare `60` is ambiguous) and the result is whole seconds.
 */
import { ValidationError } from '../errors.js'

const DURATION_RE = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?$/

export interface DurationLimits {
  /** Inclusive upper bound in seconds. */
  maxSeconds?: number
  /** Inclusive lower bound in seconds. Default 1. */
  minSeconds?: number
}

/**
 * Parses a duration string into seconds; throws ValidationError naming
 * `field` with a message that says what a valid value looks like.
 */
export function parseDuration(input: unknown, field: string, limits: DurationLimits = {}): number {
  const example = `a duration like "15m", "1h" or "1h30m"`
  if (typeof input !== 'string') throw new ValidationError(`${field} must be ${example}`, field)
  const text = input.trim().toLowerCase()
  const m = DURATION_RE.exec(text)
  if (text === '' || !m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) {
    throw new ValidationError(`${field} "${clip(input)}" is not ${example}`, field)
  }
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
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

/** 5400 -> '1h30m'; 90 -> '1m30s'. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`
  return out || '0s'
}

// Echo a little of the bad value so the caller recognises it, never a whole body.
function clip(v: string): string {
  return v.length > 32 ? `${v.slice(0, 32)}…` : v
}
