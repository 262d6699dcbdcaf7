/**
 * Deploy trailers: the machine-readable part of every deploy commit, so that
 * the Git history is the deploy log. Git's trailer convention (`Key: value`
 * lines in the last paragraph) keeps them readable with `git log` and
 * `git interpret-trailers`.
 *
 * Values are single-line; anything else (newlines, control characters) is
 * escaped as JSON string content so a trailer can never inject another one.
 */
import { parseJsonText, stringifyExact } from './json-parse.js'

export interface DeployTrailers {
  environment: string
  /** 'api' | 'event' | 'rollback' | 'ci-job' | 'promotion' | 'verify' (and 'repair', 'hold', 'release') */
  source: string
  /**
   * JSON pointer of each changed key with its before and after value, JSON-encoded.
   * `removed: true` marks a key the commit removed (`current` is then null).
   */
  changes: Array<{ pointer: string; previous: unknown; current: unknown; removed?: boolean }>
  requester?: string
  runUrl?: string
  eventId?: string
  /** ISO 8601 time of the event that produced this value (for ordering). */
  eventTime?: string
  imageDigest?: string
  idempotencyKey?: string
  reason?: string
  /** A promotion's source: `<environment>@<commit that set the value there>`. */
  promotedFrom?: string
  /** A check that passed against a deploy (POST /v1/deploys/verify), and the commit it verified. */
  verifiedBy?: string
  verifiedCommit?: string
  /**
   * The commit the change was computed on (the write's expectedHead). When it
   * is not the commit's parent, the server ignored expectedHead and the
   * commit overwrote what came in between (see deploys/repair.ts).
   */
  baseCommit?: string
}

const KEYS = {
  environment: 'Deploy-Environment',
  source: 'Deploy-Source',
  change: 'Deploy-Change',
  requester: 'Deploy-Requester',
  runUrl: 'Deploy-Run-Url',
  eventId: 'Deploy-Event-Id',
  eventTime: 'Deploy-Event-Time',
  imageDigest: 'Deploy-Image-Digest',
  idempotencyKey: 'Deploy-Idempotency-Key',
  reason: 'Deploy-Reason',
  baseCommit: 'Deploy-Base',
  promotedFrom: 'Deploy-Promoted-From',
  verifiedBy: 'Verified-By',
  verifiedCommit: 'Verified-Commit',
} as const

function clean(value: string): string {
  // JSON.stringify escapes newlines and control characters; strip its quotes.
  return JSON.stringify(value).slice(1, -1)
}

/** Renders trailers as the final paragraph of a commit message. */
export function formatTrailers(t: DeployTrailers): string {
  const lines = [`${KEYS.environment}: ${clean(t.environment)}`, `${KEYS.source}: ${clean(t.source)}`]
  for (const c of t.changes) {
    const entry = { pointer: c.pointer, previous: c.previous ?? null, current: c.current ?? null, ...(c.removed ? { removed: true } : {}) }
    lines.push(`${KEYS.change}: ${stringifyExact(entry)}`)
  }
  const optional: Array<[keyof typeof KEYS, string | undefined]> = [
    ['requester', t.requester],
    ['runUrl', t.runUrl],
    ['eventId', t.eventId],
    ['eventTime', t.eventTime],
    ['imageDigest', t.imageDigest],
    ['idempotencyKey', t.idempotencyKey],
    ['reason', t.reason],
    ['promotedFrom', t.promotedFrom],
    ['verifiedBy', t.verifiedBy],
    ['verifiedCommit', t.verifiedCommit],
    ['baseCommit', t.baseCommit],
  ]
  for (const [k, v] of optional) if (v) lines.push(`${KEYS[k]}: ${clean(v)}`)
  return lines.join('\n')
}

/** Builds a whole commit message: subject, optional body, blank line, trailers. */
export function formatDeployMessage(subject: string, trailers: DeployTrailers, body?: string): string {
  const parts = [subject.replace(/\s+/g, ' ').trim()]
  if (body) parts.push(body.trim())
  parts.push(formatTrailers(trailers))
  return parts.join('\n\n') + '\n'
}

/** Every trailer but Deploy-Change holds one string field, named as in KEYS. */
type StringField = Exclude<keyof typeof KEYS, 'change'>
const FIELD_BY_KEY = new Map<string, StringField>(
  (Object.keys(KEYS) as Array<keyof typeof KEYS>).filter((f): f is StringField => f !== 'change').map((f) => [KEYS[f], f]),
)

/**
 * Reads deploy trailers back from a full commit message. Returns undefined
 * when the message carries none (not a deploy commit, or the server gave only
 * the subject). Unknown trailers are ignored; a malformed change line is skipped.
 */
export function parseDeployTrailers(message: string | undefined): DeployTrailers | undefined {
  if (!message) return undefined
  const paragraphs = message.trimEnd().split(/\n\s*\n/)
  const last = paragraphs[paragraphs.length - 1] ?? ''
  const out: Partial<DeployTrailers> & { changes: DeployTrailers['changes'] } = { changes: [] }
  for (const line of last.split('\n')) {
    const idx = line.indexOf(': ')
    if (idx <= 0) continue
    const key = line.slice(0, idx)
    const raw = line.slice(idx + 2)
    const value = (() => {
      try {
        return JSON.parse(`"${raw}"`) as string
      } catch {
        return raw
      }
    })()
    if (key === KEYS.change) {
      try {
        const c = parseJsonText(raw) as { pointer?: unknown; previous?: unknown; current?: unknown; removed?: unknown }
        if (typeof c.pointer === 'string') {
          out.changes.push({ pointer: c.pointer, previous: c.previous, current: c.current, ...(c.removed === true ? { removed: true } : {}) })
        }
      } catch {
        // A hand-written or truncated change line: keep the rest of the trailers.
      }
      continue
    }
    const field = FIELD_BY_KEY.get(key)
    if (field) out[field] = value
  }
  if (!out.environment || !out.source) return undefined
  return out as DeployTrailers
}
