/**
 * Verifies CI OIDC ID tokens. The unverified header and payload are read only
 * to pick the issuer's config (and to reject disallowed algorithms and unknown
 * issuers before any network call); everything else is jose's `jwtVerify`
 * against that issuer's JWKS with the issuer, audience, algorithms and clock
 * pinned.
 */
import type { JWTPayload, ProtectedHeaderParameters } from 'jose'
import { redact } from '../observability/logger.js'
import { AppError, ConfigError } from '../errors.js'
import { parseDuration } from '../duration.js'
import {
  JwksUnavailableError,
  OidcAlgNotAllowedError,
  OidcBadSignatureError,
  OidcExpiredError,
  OidcInvalidClaimError,
  OidcMalformedError,
  OidcMissingClaimError,
  OidcNotYetValidError,
  OidcTooOldError,
  OidcUnknownIssuerError,
  OidcUnknownKeyError,
  OidcWrongAudienceError,
  OidcWrongIssuerError,
} from './errors.js'
import { loadJose, type Jose } from './jose.js'
import {
  defaultJwksCache,
  issuerBackoff,
  issuerKeys,
  noteIssuerFailure,
  noteIssuerSuccess,
  type JwksCache,
  type JwksOptions,
} from './jwks.js'
import type { IssuerConfig } from './presets.js'

/** Asymmetric algorithms only: never `none`, never HMAC (whose "key" could be a public key). */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const

export interface OidcVerifierOptions {
  issuers: IssuerConfig[]
  /** The broker's audience; tokens must carry it in `aud`. */
  audience: string | string[]
  /**
   * Injected for tests and instrumentation (wrapped with the size cap); by default discovery and
   * JWKS go over node:http(s) (lib/net/http-client.ts).
   */
  fetch?: typeof fetch
  clock?: () => Date
  /** Reject tokens issued longer ago than this: seconds or a duration (`15m`). Default 15 min. */
  maxTokenAge?: number | string
  /** Allowed clock skew for exp/nbf/iat. Default 60 s. */
  clockToleranceSeconds?: number
  jwks?: JwksOptions
  /** Key cache; defaults to the module-level one (one fetch per issuer per container). */
  cache?: JwksCache
}

export interface VerifiedToken {
  issuer: IssuerConfig
  claims: JWTPayload & Record<string, unknown>
  /** The decoded signature bytes (the replay key of a token without `jti` uses them). */
  signature: Uint8Array
  /** When the token stops being acceptable (exp or iat + maxTokenAge, plus tolerance). */
  acceptableUntil: Date
}

export interface OidcVerifier {
  verify(token: string): Promise<VerifiedToken>
}

const MAX_CLAIM_LENGTH = 255
const BASE64URL_RE = /^[A-Za-z0-9_-]*$/

/**
 * The decoded signature if every segment is canonical base64url (re-encoding
 * the decoded bytes gives back exactly what was sent), else undefined. A
 * lenient decoder ignores the unused low bits of a segment's last character,
 * so without this one signed token has several spellings that all verify.
 */
export function canonicalSignature(token: string): Uint8Array | undefined {
  const segments = token.split('.')
  if (segments.length !== 3) return undefined
  for (const segment of segments) {
    if (!BASE64URL_RE.test(segment) || segment.length % 4 === 1) return undefined
    if (Buffer.from(segment, 'base64url').toString('base64url') !== segment) return undefined
  }
  return new Uint8Array(Buffer.from(segments[2] as string, 'base64url'))
}

/** Printable, short and credential-free: for echoing attacker-supplied strings. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  const clean = redact(text).replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean
}

function mapJoseError(err: unknown, issuer: IssuerConfig, errors: Jose['errors']): AppError {
  if (err instanceof AppError) return err
  if (err instanceof errors.JWTExpired) {
    if (err.claim === 'iat') {
      return new OidcTooOldError('OIDC token was issued too long ago; request a fresh one')
    }
    return new OidcExpiredError('OIDC token has expired; request a fresh one')
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') {
      return new OidcMissingClaimError(`OIDC token lacks the required "${err.claim}" claim`)
    }
    switch (err.claim) {
      case 'aud':
        return new OidcWrongAudienceError('OIDC token audience (aud) is not this broker')
      case 'iss':
        return new OidcWrongIssuerError('OIDC token issuer does not match')
      case 'nbf':
        return new OidcNotYetValidError('OIDC token is not valid yet (nbf)')
      case 'iat':
        return new OidcNotYetValidError('OIDC token was issued in the future (iat)')
      default:
        return new OidcInvalidClaimError(`OIDC token claim "${err.claim}" is invalid`)
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new OidcAlgNotAllowedError('OIDC token algorithm is not allowed')
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new OidcUnknownKeyError(
      `OIDC token is signed with a key (kid) that ${issuer.url} does not publish`,
    )
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new OidcBadSignatureError('OIDC token signature is invalid')
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new OidcMalformedError('OIDC token is malformed')
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new JwksUnavailableError(`JWKS of ${issuer.url} could not be loaded`, { cause: err })
  }
  if (err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid) {
    return new OidcAlgNotAllowedError('OIDC token uses an unsupported key or algorithm')
  }
  // Anything else (network error, non-200 JWKS, oversized body) is the issuer being unreachable.
  return new JwksUnavailableError(`JWKS of ${issuer.url} could not be loaded`, { cause: err })
}

/** Builds a verifier for a fixed set of trusted issuers. */
export function createOidcVerifier(options: OidcVerifierOptions): OidcVerifier {
  const byUrl = new Map(options.issuers.map((i) => [i.url, i]))
  const fetchImpl = options.fetch
  const clock = options.clock ?? (() => new Date())
  const maxAge = parseDuration(options.maxTokenAge ?? 900)
  if (maxAge === undefined || maxAge <= 0) throw new ConfigError('oidc.maxTokenAge must be a positive duration')
  const tolerance = options.clockToleranceSeconds ?? 60
  const cache = options.cache ?? defaultJwksCache
  const allowed: readonly string[] = ALLOWED_ALGORITHMS

  return {
    async verify(token) {
      const signature = canonicalSignature(token)
      if (!signature) {
        throw new OidcMalformedError('OIDC token is not a well-formed JWT (three canonical base64url segments)')
      }
      const jose = await loadJose()
      let header: ProtectedHeaderParameters
      let unverified: JWTPayload
      try {
        header = jose.decodeProtectedHeader(token)
        unverified = jose.decodeJwt(token)
      } catch {
        throw new OidcMalformedError('OIDC token is not a well-formed JWT')
      }
      if (typeof header.alg !== 'string' || !allowed.includes(header.alg)) {
        throw new OidcAlgNotAllowedError(
          `OIDC token algorithm ${shown(header.alg)} is not allowed (allowed: ${allowed.join(', ')})`,
        )
      }
      if (header.crit !== undefined) {
        // RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand; we understand none.
        throw new OidcMalformedError('OIDC token has a "crit" header; this broker understands no JWS extensions')
      }
      const issuer = typeof unverified.iss === 'string' ? byUrl.get(unverified.iss) : undefined
      if (!issuer) {
        throw new OidcUnknownIssuerError(
          `OIDC issuer ${shown(unverified.iss ?? '(none)')} is not trusted by this broker`,
        )
      }
      const backingOff = issuerBackoff(cache, issuer.url, clock().getTime())
      if (backingOff) throw backingOff
      let keys: Awaited<ReturnType<typeof issuerKeys>>
      try {
        keys = await issuerKeys(issuer, cache, fetchImpl, options.jwks)
      } catch (err) {
        noteIssuerFailure(cache, issuer.url, clock().getTime(), options.jwks)
        throw err
      }
      let payload: JWTPayload
      try {
        const result = await jose.jwtVerify(token, keys.getKey, {
          issuer: issuer.url,
          audience: options.audience,
          algorithms: [...allowed],
          clockTolerance: tolerance,
          maxTokenAge: maxAge,
          currentDate: clock(),
          requiredClaims: ['sub', 'iat', 'exp'],
        })
        payload = result.payload
        noteIssuerSuccess(cache, issuer.url)
      } catch (err) {
        const mapped = mapJoseError(err, issuer, jose.errors)
        if (mapped instanceof JwksUnavailableError) noteIssuerFailure(cache, issuer.url, clock().getTime(), options.jwks)
        throw mapped
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > MAX_CLAIM_LENGTH) {
        throw new OidcInvalidClaimError('OIDC token "sub" claim must be a short string')
      }
      const jti = payload.jti
      if (jti !== undefined && (typeof jti !== 'string' || jti.length > MAX_CLAIM_LENGTH)) {
        throw new OidcInvalidClaimError('OIDC token "jti" claim must be a short string')
      }
      const until = Math.min(payload.exp as number, (payload.iat as number) + maxAge) + tolerance
      return {
        issuer,
        claims: payload as VerifiedToken['claims'],
        signature,
        acceptableUntil: new Date(until * 1000),
      }
    },
  }
}
