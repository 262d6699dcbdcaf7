import type { CallerIdentity } from '../auth/types.js'
import type { Permission } from '../githosted/types.js'

/** What a matching rule allows. */
export interface Grant {
  /** Repo slugs (or rp_ ids) the caller may get a token for. */
  repos: string[]
  /** The most the caller may get; a request for 'write' with a 'read' grant is denied. */
  permission: Permission
  /** Longest token TTL; longer requests are clamped (and the response says so). */
  maxTtlSeconds: number
  /** Environments the caller may deploy to through /v1/deploys (empty = none). */
  environments: string[]
  /** Whether explicit deploys may override a hold on an environment. */
  overrideHolds: boolean
  /** Promotion paths (from → to) the caller may use through /v1/promotions; empty = none. */
  promote: PromoteGrant[]
}

/** A promotion path with its gates (lib/deploys/promote.ts checks soak and checks). */
export interface PromoteGrant {
  from: string
  to: string
  /** Seconds the value must have been in `from`, counted from the commit that set it. */
  minSoakSeconds: number
  /** Checks (POST /v1/deploys/verify) recorded on that commit before it may move on. */
  requireChecks: string[]
}

export interface RuleTrace {
  rule: string
  matched: boolean
  /** The caller meets the rule's identity conditions (see callerTrace: only those are shown to it). */
  identified?: boolean
  /** Why it did not match: the first condition that failed, in words. */
  reason?: string
}

export interface Decision {
  allowed: boolean
  /** Name of the rule that decided (allowed), if any. */
  rule?: string
  grant?: Grant
  /**
   * Safe to show the caller: for callers some rule is meant for, what would be
   * needed; for anyone else, a generic denial that names nothing.
   */
  reason: string
  /** Some rule's identity conditions match the caller (it may see its callerTrace). */
  identified: boolean
  /** Every rule tried: for the audit log, not for the caller (see callerTrace). */
  trace: RuleTrace[]
  /** Mint only: the TTL the token gets (the request's, clamped to the grant's maxTtl). */
  ttlSeconds?: number
  /** Mint only: true when the requested TTL was longer than the grant allows. */
  clamped?: boolean
  /** Promote only: the path that allowed it, with its gates. */
  promote?: PromoteGrant
}

export interface MintRequest {
  repos: string[]
  permission: Permission
  ttlSeconds: number
}

export interface DeployRequest {
  repo: string
  environment: string
  overrideHold?: boolean
}

export interface PromoteRequest {
  repo: string
  from: string
  to: string
}

export interface Policy {
  authorizeMint(identity: CallerIdentity, request: MintRequest): Decision
  authorizeDeploy(identity: CallerIdentity, request: DeployRequest): Decision
  authorizeRead(identity: CallerIdentity, repo: string): Decision
  /** Allowed decisions carry the matching path as `promote` (its gates). */
  authorizePromote(identity: CallerIdentity, request: PromoteRequest): Decision
}
