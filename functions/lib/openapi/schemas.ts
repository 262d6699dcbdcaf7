/**
 * The broker's wire contract as valibot schemas: request bodies (strict, as
 * the endpoints reject unknown fields) and responses (loose: clients must
 * ignore fields they do not know). document.ts turns them into OpenAPI 3.1;
 * the contract test validates real responses against that document, so a
 * response shape that drifts from these schemas fails the suite.
 */
import * as v from 'valibot'

const slug = v.pipe(v.string(), v.description('Repo slug (e.g. deploy-configs) or rp_ id.'))
const duration = v.pipe(v.string(), v.description('Duration such as 90s, 15m, 1h, 1h30m (at most 24h).'))
const permission = v.picklist(['read', 'write'])
const sha = v.pipe(v.string(), v.regex(/^[0-9a-f]{7,64}$/))
const isoTime = v.pipe(v.string(), v.isoTimestamp())
const pointerMap = v.pipe(v.record(v.string(), v.unknown()), v.description('JSON pointer -> value.'))

/** RFC 9457 problem details; `code` is stable and machine-readable. */
export const Problem = v.looseObject({
  type: v.string(),
  title: v.string(),
  status: v.pipe(v.number(), v.integer()),
  code: v.string(),
  detail: v.string(),
  requestId: v.optional(v.string()),
  allow: v.optional(v.array(v.string())),
  retryAfterSeconds: v.optional(v.number()),
})

export const Health = v.object({ status: v.literal('ok') })

export const TokenRequest = v.strictObject({
  repo: v.optional(slug),
  repos: v.optional(v.array(slug)),
  permission: v.optional(permission),
  ttl: v.optional(duration),
  ttlSeconds: v.optional(v.pipe(v.number(), v.integer())),
})

export const CiTokenRequest = v.strictObject({
  repo: v.optional(slug),
  repos: v.optional(v.union([v.array(slug), v.string()])),
  permission: v.optional(permission),
  ttl: v.optional(duration),
  ttlSeconds: v.optional(v.pipe(v.number(), v.integer())),
})

export const MintedToken = v.looseObject({
  token: v.pipe(v.string(), v.startsWith('gr_')),
  tokenId: v.string(),
  expiresAt: isoTime,
  repos: v.array(v.string()),
  permission,
  rule: v.string(),
  ttlSeconds: v.pipe(v.number(), v.integer()),
  clamped: v.optional(v.boolean()),
  note: v.optional(v.string()),
})

export const TokenExplanation = v.looseObject({
  dryRun: v.literal(true),
  allowed: v.boolean(),
  rule: v.optional(v.string()),
  reason: v.string(),
  ttlSeconds: v.optional(v.number()),
  clamped: v.optional(v.boolean()),
})

const deployOptions = {
  idempotencyKey: v.optional(v.string()),
  dryRun: v.optional(v.boolean()),
  overrideHold: v.optional(v.boolean()),
  reason: v.optional(v.string()),
}

export const DeployRequest = v.strictObject({
  repo: slug,
  environment: v.string(),
  image: v.optional(v.string()),
  set: v.optional(pointerMap),
  /** With image: its digest (sha256:<64 hex>), written to <image key>Digest in the same commit. */
  digest: v.optional(v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/))),
  ...deployOptions,
})

export const RollbackRequest = v.strictObject({
  repo: slug,
  environment: v.string(),
  to: v.optional(sha),
  keys: v.optional(v.array(v.string())),
  ...deployOptions,
})

export const HoldRequest = v.strictObject({ repo: slug, environment: v.string(), reason: v.string() })

export const VerifyRequest = v.strictObject({ repo: slug, environment: v.string(), commit: v.optional(sha), check: v.string() })

export const PromotionRequest = v.strictObject({
  repo: slug,
  from: v.string(),
  to: v.string(),
  /** JSON pointers to copy; default the image (with its digest). */
  keys: v.optional(v.array(v.string())),
  reason: v.optional(v.string()),
  idempotencyKey: v.optional(v.string()),
  /** Promote an image that has no digest in `from` (refused otherwise: PROMOTION_DIGEST_MISSING). */
  allowTagOnly: v.optional(v.boolean()),
  dryRun: v.optional(v.boolean()),
})

export const DeployResult = v.looseObject({
  commit: sha,
  changed: v.boolean(),
  previous: pointerMap,
  current: pointerMap,
  repo: v.string(),
  environment: v.string(),
  path: v.string(),
  skipped: v.optional(v.string()),
  reason: v.optional(v.string()),
  replayed: v.optional(v.boolean()),
  dryRun: v.optional(v.boolean()),
  diff: v.optional(v.string()),
  repairCommit: v.optional(sha),
  rolledBackTo: v.optional(sha),
  /** The commit that had set the restored value, and how; a promotion names its source (`staging@<sha>`). */
  rolledBackToOrigin: v.optional(v.looseObject({ commit: sha, source: v.optional(v.string()), promotedFrom: v.optional(v.string()) })),
  attempts: v.optional(v.number()),
})

export const PromotionResult = v.looseObject({
  ...DeployResult.entries,
  /** What was promoted: the source environment, the commit that set the value there, and the digest. */
  from: v.looseObject({ environment: v.string(), commit: sha, committedAt: v.nullable(v.string()), digest: v.optional(v.string()) }),
})

const CheckRecord = v.looseObject({ by: v.string(), at: v.string(), runUrl: v.optional(v.string()) })

export const VerifyResult = v.looseObject({
  repo: v.string(),
  environment: v.string(),
  path: v.string(),
  /** The checks recorded for the commit that set the environment's value. */
  verified: v.looseObject({ commit: sha, checks: v.record(v.string(), CheckRecord) }),
  commit: sha,
  changed: v.boolean(),
})

const HoldInfo = v.looseObject({ reason: v.optional(v.string()), by: v.optional(v.string()), at: v.optional(v.string()) })

export const HoldResult = v.looseObject({
  held: v.boolean(),
  hold: v.optional(HoldInfo),
  commit: sha,
  changed: v.boolean(),
  repo: v.string(),
  environment: v.string(),
  path: v.string(),
  previous: v.optional(v.unknown()),
})

const StatusProblem = v.looseObject({ code: v.string(), message: v.string() })

const CommitSummary = v.looseObject({
  sha,
  shortSha: v.string(),
  committedAt: v.nullable(v.string()),
  authorName: v.string(),
  authorEmail: v.string(),
  subject: v.string(),
  trailers: v.nullable(v.looseObject({ environment: v.string(), source: v.string(), requester: v.optional(v.string()) })),
})

/** A promotion's source: the environment and the commit that set the value there. */
const PromotedFrom = v.looseObject({ environment: v.string(), commit: sha, shortSha: v.string() })

export const DeployRecord = v.looseObject({
  sha,
  shortSha: v.string(),
  committedAt: v.nullable(v.string()),
  who: v.string(),
  authorName: v.string(),
  subject: v.string(),
  from: v.nullable(v.string()),
  to: v.nullable(v.string()),
  changes: v.array(v.object({ pointer: v.string(), from: v.unknown(), to: v.unknown() })),
  source: v.optional(v.string()),
  runUrl: v.optional(v.string()),
  reason: v.optional(v.string()),
  promotedFrom: v.optional(PromotedFrom),
  basis: v.picklist(['trailers', 'content']),
})

/** Where an environment's image came from: the commit that set it, and how. */
const Lineage = v.looseObject({
  commit: sha,
  shortSha: v.string(),
  committedAt: v.nullable(v.string()),
  source: v.string(),
  by: v.optional(v.string()),
  promotedFrom: v.optional(PromotedFrom),
  digest: v.optional(v.string()),
})

const EnvironmentStatus = v.looseObject({
  environment: v.string(),
  path: v.string(),
  image: v.nullable(v.string()),
  headSha: v.string(),
  updatedAt: v.nullable(v.string()),
  lastCommit: v.nullable(CommitSummary),
  held: v.boolean(),
  hold: v.nullable(HoldInfo),
  problem: v.optional(StatusProblem),
  history: v.optional(v.array(DeployRecord)),
  lineage: v.optional(v.nullable(Lineage)),
})

export const StatusReport = v.looseObject({
  repo: v.string(),
  headSha: v.nullable(v.string()),
  environments: v.array(EnvironmentStatus),
  problem: v.optional(StatusProblem),
})

export const HistoryReport = v.looseObject({
  repo: v.string(),
  environment: v.string(),
  headSha: v.nullable(v.string()),
  deploys: v.array(DeployRecord),
})

/** Named schemas: the document's components.schemas, in this order. */
export const SCHEMAS = {
  Problem,
  Health,
  TokenRequest,
  CiTokenRequest,
  MintedToken,
  TokenExplanation,
  DeployRequest,
  RollbackRequest,
  HoldRequest,
  VerifyRequest,
  PromotionRequest,
  DeployResult,
  PromotionResult,
  VerifyResult,
  HoldResult,
  DeployRecord,
  StatusReport,
  HistoryReport,
}
