/**
 * Audit records: one structured line per authorization decision (allowed
 * and denied), so that "who got which token, under which rule, and why was
 * that other request refused" is answerable from the logs alone. Records
 * carry identities, rule names and token fingerprints, never a credential.
 */
import { createHash } from 'node:crypto'
import type { CallerIdentity } from '../auth/types.js'
import type { Logger } from '../observability/logger.js'

export type AuditOutcome = 'allowed' | 'denied' | 'error'

export interface AuditRecord {
  /** What was decided, e.g. 'token.mint', 'token.revoke', 'token.explain'. */
  event: string
  requestId: string
  outcome: AuditOutcome
  /** Why, in words (the policy reason, the error message). */
  reason: string
  /** Stable error code for denials and errors; 'OK' when allowed. */
  code: string
  identity?: CallerIdentity
  rule?: string
  repos?: string[]
  permission?: string
  ttlSeconds?: number
  /** githosted token id (not secret). */
  tokenId?: string
  /** First 16 hex chars of SHA-256 of the minted token: matches a leaked token to its record. */
  tokenFingerprint?: string
  sourceIp?: string
  /** Anything else safe and useful (clamping, fallback method, ...). */
  extra?: Record<string, unknown>
}

/** SHA-256 fingerprint (first 16 hex) of a secret; safe to log. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16)
}

const MAX_CLAIMS = 40
const MAX_CLAIM_CHARS = 200

/**
 * The claims worth keeping in an audit line: scalar values only (policy
 * rules match scalars), bounded in number and length.
 */
export function auditClaims(claims: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  let n = 0
  for (const [k, v] of Object.entries(claims)) {
    if (n >= MAX_CLAIMS) break
    if (typeof v === 'string') out[k] = v.length > MAX_CLAIM_CHARS ? `${v.slice(0, MAX_CLAIM_CHARS)}…` : v
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v
    else continue
    n++
  }
  return out
}

export interface Auditor {
  record(entry: AuditRecord): void
}

/** Writes audit records as `audit` log lines through the structured logger. */
export function createAuditor(logger: Logger): Auditor {
  return {
    record(entry) {
      const { identity, extra, ...rest } = entry
      const who = identity
        ? {
            kind: identity.kind,
            issuer: identity.issuer,
            provider: identity.provider,
            keyName: identity.keyName,
            subject: identity.subject,
            claims: auditClaims(identity.claims),
          }
        : undefined
      logger.info('audit', { audit: 1, ...rest, identity: who, ...extra })
    },
  }
}
