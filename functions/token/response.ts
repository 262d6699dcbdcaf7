/**
 * The JSON body of a minted token (`POST /v1/tokens`, 201), whatever
 * framework sends it: the Hono app and the benchmarks' Express peer answer
 * with the same shape.
 */
import { formatDuration } from '../lib/duration.js'
import type { MintOutcome } from '../lib/tokens/service.js'

export function mintResponse(minted: MintOutcome) {
  const requested = minted.requestedTtlSeconds
  return {
    token: minted.token,
    tokenId: minted.record.id,
    expiresAt: minted.expiresAt.toISOString(),
    repos: minted.repos,
    permission: minted.permission,
    rule: minted.rule,
    ttlSeconds: minted.ttlSeconds,
    ...(minted.clamped
      ? { clamped: true, note: `Requested ${formatDuration(requested)}; the policy allows at most ${formatDuration(minted.ttlSeconds)}.` }
      : {}),
    ...(minted.method === 'create' && minted.ttlSeconds > requested
      ? { note: `This githosted server mints whole hours only; the token lives ${formatDuration(minted.ttlSeconds)}.` }
      : {}),
  }
}
