/**
 * Per-issuer key sets: discovery (`<iss>/.well-known/openid-configuration` ->
 * `jwks_uri`) once, then jose's remote JWKS, which caches keys and refetches
 * on an unknown `kid` at most once per cooldown. Both live in a map that, by
 * default, is module-level: one fetch per issuer per Lambda container.
 *
 * Unless a fetch is injected, both reads go over node:http(s)
 * (lib/net/http-client.ts), the client stack the githosted transport uses
 * anyway, so a container initializes one HTTP client rather than two.
 */
import type { JWTVerifyGetKey } from 'jose'
import { loadJose } from './jose.js'
import { nodeFetch } from '../net/http-client.js'
import { cappedFetch } from '../net/capped-body.js'
import { JwksUnavailableError } from './errors.js'
import type { IssuerConfig } from './presets.js'

export interface JwksOptions {
  /** No refetch within this window after a successful fetch, even on an unknown kid. Default 30 s. */
  cooldownMs?: number
  /** Keys are refetched once older than this. Default 10 min. */
  cacheMaxAgeMs?: number
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number
  /** Body size cap for discovery and JWKS. Default 100 KiB. */
  maxBytes?: number
  /** After a failed discovery or JWKS fetch, refuse that issuer's tokens without fetching for this long; doubles per further failure. Default 10 s. */
  failureBackoffMs?: number
  /** Longest backoff. Default 5 min. */
  maxFailureBackoffMs?: number
}

/** A cached key resolver for one issuer, plus where its keys came from. */
export interface IssuerKeys {
  jwksUri: string
  getKey: JWTVerifyGetKey & { reload(): Promise<void> }
}

export type JwksCache = Map<string, Promise<IssuerKeys>>

/**
 * Default body cap for discovery documents and JWKS, so a hostile or broken
 * issuer cannot make a Lambda buffer megabytes of "JWKS" (octo-sts caps
 * discovery at 100 KiB for the same reason).
 */
export const MAX_METADATA_BYTES = 100 * 1024

/** The container-wide cache used when none is injected. */
export const defaultJwksCache: JwksCache = new Map()

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/** True for http://127.0.0.1 / localhost URLs, the only non-https URLs we accept (local dev). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname)
}

/** Whether a URL may be used as an issuer or JWKS location. */
export function isAcceptableMetadataUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username || url.password) return false
  return url.protocol === 'https:' || isLoopbackHttp(url)
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
}

async function discoverJwksUri(
  issuer: IssuerConfig,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<string> {
  const where = discoveryUrl(issuer.url)
  let body: unknown
  try {
    const response = await fetchImpl(where, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
    body = await response.json()
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : 'unknown error'
    throw new JwksUnavailableError(`OIDC discovery for ${issuer.url} failed (${why})`, { cause })
  }
  const doc = (body ?? {}) as Record<string, unknown>
  // OpenID Connect Discovery 1.0 §4.3: the document must name the very issuer we asked about.
  if (doc.issuer !== issuer.url) {
    throw new JwksUnavailableError(`OIDC discovery for ${issuer.url} names a different issuer`)
  }
  const jwksUri = doc.jwks_uri
  if (typeof jwksUri !== 'string' || !isAcceptableJwksUri(jwksUri, issuer.url)) {
    throw new JwksUnavailableError(`OIDC discovery for ${issuer.url} has no acceptable https jwks_uri`)
  }
  return jwksUri
}

/** A JWKS URL must be https; plain http only on loopback, and only for a loopback issuer. */
export function isAcceptableJwksUri(jwksUri: string, issuerUrl: string): boolean {
  if (!isAcceptableMetadataUrl(jwksUri)) return false
  const jwks = new URL(jwksUri)
  if (jwks.protocol === 'https:') return true
  return isLoopbackHttp(new URL(issuerUrl))
}

/**
 * The bounded fetch for discovery and JWKS. An injected fetch (tests,
 * instrumentation) is wrapped with the size cap; without one, a node:http(s)
 * GET with the same cap and URL rules is used, so undici's client never
 * starts on this path.
 */
function metadataFetch(fetchImpl: typeof fetch | undefined, maxBytes: number, timeoutMs: number): typeof fetch {
  if (fetchImpl) return cappedFetch(fetchImpl, maxBytes)
  return nodeFetch({
    maxBodyBytes: maxBytes,
    timeoutMs,
    allowUrl: (url) => !url.username && !url.password && (url.protocol === 'https:' || isLoopbackHttp(url)),
  })
}

/**
 * Returns the (cached) key resolver for an issuer. A failed discovery is not
 * cached, so the next request retries it.
 */
export function issuerKeys(
  issuer: IssuerConfig,
  cache: JwksCache,
  fetchImpl: typeof fetch | undefined,
  options: JwksOptions = {},
): Promise<IssuerKeys> {
  const cached = cache.get(issuer.url)
  if (cached) return cached
  const timeoutMs = options.timeoutMs ?? 5000
  const limited = metadataFetch(fetchImpl, options.maxBytes ?? MAX_METADATA_BYTES, timeoutMs)
  const pending = (async (): Promise<IssuerKeys> => {
    const jwksUri = issuer.jwksUri ?? (await discoverJwksUri(issuer, limited, timeoutMs))
    if (!isAcceptableJwksUri(jwksUri, issuer.url)) {
      throw new JwksUnavailableError(`JWKS URL for ${issuer.url} must be https`)
    }
    const { createRemoteJWKSet, customFetch } = await loadJose()
    const getKey = createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: timeoutMs,
      [customFetch]: limited,
    })
    return { jwksUri, getKey }
  })()
  cache.set(issuer.url, pending)
  pending.catch(() => {
    if (cache.get(issuer.url) === pending) cache.delete(issuer.url)
  })
  return pending
}

interface FailureState {
  until: number
  delayMs: number
}

// Per cache (so injected caches in tests stay independent), per issuer URL.
const failures = new WeakMap<JwksCache, Map<string, FailureState>>()

function failuresOf(cache: JwksCache): Map<string, FailureState> {
  let map = failures.get(cache)
  if (!map) failures.set(cache, (map = new Map()))
  return map
}

/**
 * Negative caching for issuers whose discovery or JWKS fetch failed: forged
 * tokens naming a broken (or hanging) trusted issuer would otherwise cost one
 * outbound fetch, and up to the timeout, each. While an issuer is backing
 * off, its tokens are refused at once with the same 503.
 */
export function issuerBackoff(cache: JwksCache, issuerUrl: string, nowMs: number): JwksUnavailableError | undefined {
  const state = failuresOf(cache).get(issuerUrl)
  if (!state || state.until <= nowMs) return undefined
  const seconds = Math.ceil((state.until - nowMs) / 1000)
  return new JwksUnavailableError(`keys of ${issuerUrl} could not be loaded recently; not retrying for ${seconds} s`)
}

/** Records a failed fetch: the next one waits `failureBackoffMs`, doubling per consecutive failure. */
export function noteIssuerFailure(cache: JwksCache, issuerUrl: string, nowMs: number, options: JwksOptions = {}): void {
  const map = failuresOf(cache)
  const first = options.failureBackoffMs ?? 10_000
  const max = options.maxFailureBackoffMs ?? 300_000
  const previous = map.get(issuerUrl)
  const delayMs = previous ? Math.min(max, previous.delayMs * 2) : Math.min(max, first)
  map.set(issuerUrl, { until: nowMs + delayMs, delayMs })
}

/** A successful fetch ends the backoff. */
export function noteIssuerSuccess(cache: JwksCache, issuerUrl: string): void {
  failures.get(cache)?.delete(issuerUrl)
}
