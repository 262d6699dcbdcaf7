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
  /** Replay key of the OIDC token (see replay.ts); the key's hash id for broker keys. */
  credentialId: string
  /**
   * OIDC only: what stays the same across runs, attempts, jobs and
   * environments of this caller (e.g. `repository_id:74`), for rate limits.
   */
  stableId?: string
}

export type AuthPurpose = 'mint' | 'deploy' | 'read'

export interface AuthenticateOptions {
  /**
   * A check on the identity (the shared rate limit) that must pass for the
   * authentication to count. For a mint it runs concurrently with the
   * single-use claim, and a failure gives the claim back.
   */
  alongside?: (identity: CallerIdentity) => Promise<void>
}

export interface Authenticator {
  /**
   * Authenticate from an Authorization header value (`Bearer <jwt|broker key>`).
   * `purpose: 'mint'` consumes the OIDC token (single use) until `releaseMint`;
   * other purposes do not.
   * Throws AuthenticationError (401) with a reason safe to show.
   */
  authenticate(authorization: string | undefined, purpose: AuthPurpose, options?: AuthenticateOptions): Promise<CallerIdentity>
  /**
   * Gives back the single use taken by `authenticate(…, 'mint')` for this
   * identity, when the request ends without a minted token (rate limit,
   * policy denial, upstream failure), so the CI job can retry with the same
   * ID token. Never call it after a mint succeeded. A no-op for broker keys,
   * other purposes, identities this authenticator did not return, and a
   * second call. Rejects if the replay store cannot answer (the claim then
   * simply stays until the token expires).
   */
  releaseMint?(identity: CallerIdentity): Promise<void>
}
