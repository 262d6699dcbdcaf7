/** Who is calling, after authentication. Never carries the credential itself. */
export interface CallerIdentity {
  kind: 'oidc' | 'broker-key'
  /** OIDC issuer URL (oidc only). */
  issuer?: string
  /** Which preset verified it: 'github', 'gitlab', 'circleci', 'buildkite', or a custom name. */
  provider?: string
  /** Broker key name (broker-key only). */
  keyName?: string
  /**
   * Stable, human-readable identity used for githosted's `subject`, audit
   * lines and commit trailers, e.g. `github:acme/app:ref:refs/heads/main:run:123`
   * or `key:ci-legacy`.
   */
  subject: string
  /** Verified claims (oidc) or `{ keyName }` (broker key). Used by the policy. */
  claims: Record<string, unknown>
  /** A link to the CI run when the claims allow building one. */
  ciRunUrl?: string
  /** Rate-limit and replay key: jti or a SHA-256 of the token; the key's hash id for keys. */
  credentialId: string
}

export type AuthPurpose = 'mint' | 'deploy' | 'read'

export interface Authenticator {
  /**
   * Authenticate from an Authorization header value (`Bearer <jwt|broker key>`).
   * `purpose: 'mint'` consumes the OIDC token (single use); other purposes do not.
   * Throws AuthenticationError (401) with a reason safe to show.
   */
  authenticate(authorization: string | undefined, purpose: AuthPurpose): Promise<CallerIdentity>
}
