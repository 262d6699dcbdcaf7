/**
 * Minting a scoped githosted token with the workspace token. Prefers
 * ExchangeToken (second-granular TTL, subject recorded by githosted); where
 * the server answers `unimplemented` it falls back to CreateToken, whose TTL
 * is in whole hours, and refuses when rounding up would exceed what the
 * policy allows. A workspace token rejected as `unauthenticated` is treated
 * as rotated: the cached secret is dropped and the call retried once.
 */
import { ForbiddenError } from '../errors.js'
import type { GithostedClient, GithostedClientFactory, Permission, TokenRecord } from '../githosted/types.js'
import { GithostedError, UnauthenticatedError, UnimplementedError } from '../githosted/errors.js'
import { formatDuration } from '../duration.js'
import { UpstreamError } from '../edge/errors.js'
import type { SecretSource } from '../secrets/source.js'

export interface MintInput {
  repos: string[]
  permission: Permission
  /** Already clamped to the grant. */
  ttlSeconds: number
  /** The policy's ceiling, to check CreateToken's hour rounding against. */
  maxTtlSeconds: number
  /** Caller identity for githosted's audit and the fallback token name. */
  subject: string
}

export interface MintedToken {
  /** The secret: returned to the caller once, never logged. */
  token: string
  record: TokenRecord
  expiresAt: Date
  /** TTL actually granted (CreateToken rounds up to whole hours). */
  ttlSeconds: number
  method: 'exchange' | 'create'
}

export interface MinterDeps {
  workspaceToken: SecretSource
  githosted: GithostedClientFactory
  clock?: () => Date
}

export interface Minter {
  mint(input: MintInput): Promise<MintedToken>
  revoke(tokenId: string): Promise<void>
}

/** Builds the minter; remembers per container whether the server lacks ExchangeToken. */
export function createMinter(deps: MinterDeps): Minter {
  const now = deps.clock ?? (() => new Date())
  let exchangeUnsupported = false

  const mintOnce = async (client: GithostedClient, input: MintInput): Promise<MintedToken> => {
    if (!exchangeUnsupported) {
      try {
        const issued = await client.exchangeToken({
          repoAllowlist: input.repos,
          permission: input.permission,
          ttlSeconds: input.ttlSeconds,
          subject: input.subject,
        })
        return finish(issued, input.ttlSeconds, 'exchange')
      } catch (err) {
        if (!(err instanceof UnimplementedError)) throw err
        exchangeUnsupported = true
      }
    }
    const ttlHours = Math.ceil(input.ttlSeconds / 3600)
    if (ttlHours * 3600 > input.maxTtlSeconds) {
      throw new ForbiddenError(
        `This githosted server only mints tokens in whole hours (no ExchangeToken), so a ${formatDuration(input.ttlSeconds)} token would live ${ttlHours}h, longer than the policy's maximum of ${formatDuration(input.maxTtlSeconds)}.`,
      )
    }
    const issued = await client.createToken({
      name: tokenName(input.subject, now()),
      kind: 'repo',
      permission: input.permission,
      repoAllowlist: input.repos,
      ttlHours,
    })
    return finish(issued, ttlHours * 3600, 'create')
  }

  const finish = (
    issued: { token: string; record: TokenRecord },
    ttlSeconds: number,
    method: MintedToken['method'],
  ): MintedToken => ({
    token: issued.token,
    record: issued.record,
    expiresAt: issued.record.expiresAt ?? new Date(now().getTime() + ttlSeconds * 1000),
    ttlSeconds,
    method,
  })

  /** Runs `fn` with a workspace-token client, refetching the secret once if githosted rejects it. */
  const withWorkspaceClient = async <T>(action: string, fn: (client: GithostedClient) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const client = deps.githosted(await deps.workspaceToken.get())
      try {
        return await fn(client)
      } catch (err) {
        if (err instanceof ForbiddenError) throw err
        if (err instanceof UnauthenticatedError && attempt === 0) {
          deps.workspaceToken.invalidate()
          continue
        }
        throw new UpstreamError(err instanceof GithostedError ? err.connectCode : 'unavailable', action, { cause: err })
      }
    }
  }

  return {
    mint: (input) => withWorkspaceClient('mint a token', (client) => mintOnce(client, input)),
    revoke: (tokenId) => withWorkspaceClient('revoke the token', (client) => client.revokeToken(tokenId)),
  }
}

/** `ci-<subject, sanitized>-<unix seconds>`: readable in githosted's token list, no odd characters. */
export function tokenName(subject: string, at: Date): string {
  const slug = subject
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '')
  return `ci-${slug || 'caller'}-${Math.floor(at.getTime() / 1000)}`
}
