/**
 * Duration strings as the seed's `/ci/token` body and the policy use them:
 * `90s`, `15m`, `1h`, `1h30m`, or a bare number of seconds.
 */
const DURATION_RE = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/

/** Seconds in a duration string, or undefined if it is not one. Accepts numbers as seconds. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined
  const text = input.trim()
  if (/^\d+$/.test(text)) return Number(text)
  const m = DURATION_RE.exec(text)
  if (!m || text === '') return undefined
  const [, h, min, s] = m
  const seconds = Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)
  return Number.isSafeInteger(seconds) ? seconds : undefined
}

/** A short human form of a number of seconds: 3600 -> `1h`, 5400 -> `1h30m`. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`
}
