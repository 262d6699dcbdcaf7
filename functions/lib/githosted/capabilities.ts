/**
 * What a githosted server supports, learned from its own answers and kept per
 * base URL for the life of the process (a Lambda container talks to one
 * server for its whole life; every client for that URL shares what any of
 * them learned). Each fact starts 'unknown' and moves only on evidence:
 *
 * - headSha:      'yes' once a read returned it, 'no' once one did not.
 * - expectedHead: 'rejected' once the server refused it as an unknown JSON
 *                 field (then writes go without it and the parent check
 *                 guards them); 'enforced' once it answered StaleHead.
 * - deleteFile:   'no' once DeleteFile answered `unimplemented`.
 *
 * A fact learned wrongly only ever makes the client more careful (checks it
 * could have skipped), never less; so a server that is upgraded in place is
 * still handled correctly.
 */
import { InvalidArgumentError } from './errors.js'

export type Tri = 'unknown' | 'yes' | 'no'

export interface ServerCapabilities {
  headSha: Tri
  expectedHead: 'unknown' | 'enforced' | 'rejected'
  deleteFile: Tri
}

const byBaseUrl = new Map<string, ServerCapabilities>()

function fresh(): ServerCapabilities {
  return { headSha: 'unknown', expectedHead: 'unknown', deleteFile: 'unknown' }
}

/** The shared capability record for a base URL (no trailing slash). */
export function capabilitiesFor(baseUrl: string): ServerCapabilities {
  let caps = byBaseUrl.get(baseUrl)
  if (!caps) {
    caps = fresh()
    byBaseUrl.set(baseUrl, caps)
  }
  return caps
}

/** Forgets what was learned about one base URL, or all (tests, the doctor). */
export function forgetCapabilities(baseUrl?: string): void {
  if (baseUrl === undefined) byBaseUrl.clear()
  else byBaseUrl.delete(baseUrl)
}

/**
 * Whether an error is the server refusing `expectedHead` as a field it does
 * not know: protobuf-es fromJson's `key "expectedHead" is unknown`, or any
 * invalid_argument naming the field as unknown.
 */
export function isUnknownExpectedHead(err: unknown): boolean {
  if (!(err instanceof InvalidArgumentError)) return false
  return /expected_?head/i.test(err.message) && /unknown/i.test(err.message)
}
