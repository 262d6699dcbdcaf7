/**
 * "5 minutes ago" in English, the same thresholds as the dashboard's inline
 * script uses to keep the labels current between refreshes.
 */
const UNITS: Array<[unit: string, seconds: number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
]

/** Describes `then` relative to `now`; times in the future (clock skew) read as "just now". */
export function formatRelativeTime(then: Date, now: Date): string {
  const seconds = Math.floor((now.getTime() - then.getTime()) / 1000)
  if (!Number.isFinite(seconds)) return 'unknown time'
  if (seconds < 45) return 'just now'
  for (const [unit, size] of UNITS) {
    const n = Math.floor(seconds / size)
    if (n >= 1) return `${n} ${unit}${n === 1 ? '' : 's'} ago`
  }
  return 'just now'
}

/**
 * The same function as browser source, for the dashboard's inline script.
 * Written out (not serialized with toString) because minification renames the
 * free variables; a test evaluates it against formatRelativeTime.
 */
export const RELATIVE_TIME_SCRIPT =
  'function rel(then,now){var s=Math.floor((now-then)/1000);if(!isFinite(s))return "unknown time";' +
  'if(s<45)return "just now";var u=' + JSON.stringify(UNITS) + ';' +
  'for(var i=0;i<u.length;i++){var n=Math.floor(s/u[i][1]);' +
  'if(n>=1)return n+" "+u[i][0]+(n===1?"":"s")+" ago"}return "just now"}'
