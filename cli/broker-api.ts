/**
 * The broker's HTTP API as typed calls, shared by the `githosted-ci` CLI,
 * `npm run ci-deploy` and the GitHub Action, so each endpoint's URL, body
 * and success status are written once.
 */
import type { StatusReport } from '../functions/lib/status/types.js'
import { call, callJson, httpErrorFrom, type Fetch } from './http.js'

export type { StatusReport }

export interface BrokerTarget {
  /** Base URL without a trailing slash. */
  broker: string
  /** An OIDC ID token or a broker key. */
  bearer: string
  fetch?: Fetch
  sleep?: (ms: number) => Promise<void>
}

export interface MintedToken {
  token: string
  tokenId: string
  expiresAt: string
  repos: string[]
  permission: 'read' | 'write'
  rule: string
  ttlSeconds: number
  clamped?: boolean
  note?: string
}

/** What POST /v1/deploys and /v1/deploys/rollback answer. */
export interface DeployResult {
  commit: string
  changed: boolean
  previous: Record<string, unknown>
  current: Record<string, unknown>
  repo: string
  environment: string
  path: string
  skipped?: string
  reason?: string
  replayed?: boolean
  dryRun?: boolean
  diff?: string
  repairCommit?: string
  rolledBackTo?: string
  attempts?: number
}

/** What POST /v1/promotions answers: a deploy result plus what was promoted. */
export interface PromotionResult extends DeployResult {
  from: { environment: string; commit: string; committedAt: string | null; digest?: string }
}

export interface VerifyResult {
  repo: string
  environment: string
  path: string
  verified: { commit: string; checks: Record<string, { by: string; at: string; runUrl?: string }> }
  commit: string
  changed: boolean
}

export interface HoldResult {
  held: boolean
  hold?: { reason: string; by?: string; at?: string }
  commit: string
  changed: boolean
  repo: string
  environment: string
  path: string
}

export interface DeployOptions {
  idempotencyKey?: string
  dryRun?: boolean
  overrideHold?: boolean
  reason?: string
}

const opts = (t: BrokerTarget) => ({ bearer: t.bearer, ...(t.fetch ? { fetch: t.fetch } : {}), ...(t.sleep ? { sleep: t.sleep } : {}) })

export function mintToken(t: BrokerTarget, request: { repos: string[]; permission: 'read' | 'write'; ttl: string }): Promise<MintedToken> {
  // Not retried: an OIDC token is single-use for minting, so a second attempt would be refused anyway.
  return callJson<MintedToken>(`${t.broker}/v1/tokens`, [201], { ...opts(t), method: 'POST', body: request, attempts: 1 })
}

export async function revokeToken(t: BrokerTarget, tokenId: string): Promise<void> {
  const url = `${t.broker}/v1/tokens/${encodeURIComponent(tokenId)}`
  const res = await call(url, { ...opts(t), method: 'DELETE' })
  if (res.status !== 204) throw httpErrorFrom(url, res.status, res.text, 'DELETE')
}

export function deploy(
  t: BrokerTarget,
  body: { repo: string; environment: string; image?: string; set?: Record<string, unknown> } & DeployOptions,
): Promise<DeployResult> {
  return callJson<DeployResult>(`${t.broker}/v1/deploys`, [200], { ...opts(t), method: 'POST', body })
}

export function rollback(
  t: BrokerTarget,
  body: { repo: string; environment: string; to?: string; keys?: string[] } & DeployOptions,
): Promise<DeployResult> {
  return callJson<DeployResult>(`${t.broker}/v1/deploys/rollback`, [200], { ...opts(t), method: 'POST', body })
}

export function promote(
  t: BrokerTarget,
  body: { repo: string; from: string; to: string; keys?: string[]; allowTagOnly?: boolean; idempotencyKey?: string; dryRun?: boolean; reason?: string },
): Promise<PromotionResult> {
  return callJson<PromotionResult>(`${t.broker}/v1/promotions`, [200], { ...opts(t), method: 'POST', body })
}

export function verify(t: BrokerTarget, body: { repo: string; environment: string; check: string; commit?: string }): Promise<VerifyResult> {
  return callJson<VerifyResult>(`${t.broker}/v1/deploys/verify`, [200], { ...opts(t), method: 'POST', body })
}

export function hold(t: BrokerTarget, body: { repo: string; environment: string; reason: string }): Promise<HoldResult> {
  return callJson<HoldResult>(`${t.broker}/v1/deploys/hold`, [200], { ...opts(t), method: 'POST', body })
}

export function release(t: BrokerTarget, query: { repo: string; environment: string; reason?: string }): Promise<HoldResult> {
  const q = new URLSearchParams({ repo: query.repo, environment: query.environment, ...(query.reason ? { reason: query.reason } : {}) })
  return callJson<HoldResult>(`${t.broker}/v1/deploys/hold?${q}`, [200], { ...opts(t), method: 'DELETE' })
}

export function status(t: BrokerTarget, query: { repo: string; history?: number }): Promise<StatusReport> {
  const q = new URLSearchParams({ repo: query.repo, ...(query.history !== undefined ? { history: String(query.history) } : {}) })
  return callJson<StatusReport>(`${t.broker}/v1/status?${q}`, [200], opts(t))
}
