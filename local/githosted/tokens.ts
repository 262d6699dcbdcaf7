import { createHmac } from 'node:crypto'
import { unauthenticated } from './errors.js'
import { newTokenId, newTokenSecret } from './ids.js'
import type { PermissionName, StoredToken, TokenKindName, WorkspaceRecord } from './state.js'

const TOKEN_SHAPE = /^(gw|gr)_[A-Za-z0-9_-]{16,200}$/

export interface MintInput {
  kind: TokenKindName
  permission: PermissionName
  name: string
  workspace: WorkspaceRecord
  repoAllowlist: string[]
  /** Lifetime from now; omitted = never expires. */
  ttlMs?: number
  /** Expire no later than this (an exchanged token never outlives its parent). */
  notAfter?: Date
  createdByName?: string
  createdByTokenPrefix?: string
  subject?: string
  parentTokenId?: string
}

/**
 * Token records and their secrets. Only HMAC-SHA256(pepper, token) is kept,
 * as githosted documents, so a leaked state file yields no usable token.
 */
export class TokenStore {
  private readonly byDigest = new Map<string, StoredToken>()

  constructor(
    private readonly tokens: StoredToken[],
    private readonly pepper: string,
    private readonly now: () => Date,
  ) {
    for (const t of tokens) this.byDigest.set(t.digest, t)
  }

  private digest(secret: string): string {
    return createHmac('sha256', this.pepper).update(secret).digest('hex')
  }

  /** Creates a token; the secret is returned here once and never stored. */
  mint(input: MintInput): { secret: string; record: StoredToken } {
    const secret = newTokenSecret(input.kind === 'workspace' ? 'gw' : 'gr')
    const now = this.now().getTime()
    let expires = input.ttlMs !== undefined ? now + input.ttlMs : undefined
    if (input.notAfter) expires = Math.min(expires ?? Infinity, input.notAfter.getTime())
    const record: StoredToken = {
      id: newTokenId(),
      digest: this.digest(secret),
      kind: input.kind,
      permission: input.permission,
      name: input.name,
      workspaceId: input.workspace.id,
      organizationId: input.workspace.organizationId,
      repoAllowlist: [...input.repoAllowlist],
      createdAt: new Date(now).toISOString(),
      ...(expires !== undefined ? { expiresAt: new Date(expires).toISOString() } : {}),
      ...(input.createdByName ? { createdByName: input.createdByName } : {}),
      ...(input.createdByTokenPrefix ? { createdByTokenPrefix: input.createdByTokenPrefix } : {}),
      ...(input.subject ? { subject: input.subject } : {}),
      ...(input.parentTokenId ? { parentTokenId: input.parentTokenId } : {}),
    }
    this.tokens.push(record)
    this.byDigest.set(record.digest, record)
    return { secret, record }
  }

  /**
   * The live record for a presented secret, with lastUsedAt stamped; throws
   * unauthenticated for unknown, malformed, expired or revoked tokens.
   */
  verify(secret: string): StoredToken {
    if (!TOKEN_SHAPE.test(secret)) throw unauthenticated('malformed token: expected gw_… or gr_…')
    const record = this.byDigest.get(this.digest(secret))
    const kindOk = record && (record.kind === 'workspace') === secret.startsWith('gw_')
    if (!record || !kindOk) throw unauthenticated('invalid token')
    const now = this.now()
    if (record.revokedAt) throw unauthenticated('token has been revoked')
    if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) {
      throw unauthenticated('token has expired')
    }
    record.lastUsedAt = now.toISOString()
    return record
  }

  byId(id: string): StoredToken | undefined {
    return this.tokens.find((t) => t.id === id)
  }

  /** All records of a workspace, oldest first (stable order for pagination). */
  list(workspaceId: string): StoredToken[] {
    return this.tokens.filter((t) => t.workspaceId === workspaceId)
  }
}

/** The secret from `Authorization: Bearer <t>` or `Basic base64(any:<t>)`; undefined if absent. */
export function tokenFromAuthorization(header: string | null): string | undefined {
  if (!header) return undefined
  const [scheme, ...rest] = header.trim().split(/\s+/)
  const value = rest.join(' ')
  if (!scheme || !value) throw unauthenticated('malformed Authorization header')
  if (scheme.toLowerCase() === 'bearer') return value
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw unauthenticated('malformed Basic credentials: expected user:token')
    const password = decoded.slice(colon + 1)
    // githosted's git URLs sometimes carry the token as the user name.
    return password || decoded.slice(0, colon)
  }
  throw unauthenticated(`unsupported Authorization scheme ${JSON.stringify(scheme.slice(0, 20))}`)
}
