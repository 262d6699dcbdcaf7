/**
 * Reads and validates the CDK context values that shape the stack. Every
 * problem is collected and reported at once, naming the context key and how
 * to set it, so a bad `-c` flag fails synth with a message a human can act on
 * instead of a CloudFormation error twenty minutes into a deploy.
 */
import type { Node } from 'constructs'

/** Secrets the stack either creates (empty) or imports by ARN. */
export const SECRET_KEYS = ['workspaceToken', 'dashboardToken', 'brokerKeys', 'viewerCredential'] as const
export type SecretKey = (typeof SECRET_KEYS)[number]

/** Context key holding an existing secret's ARN, per secret. */
export const SECRET_ARN_CONTEXT: Record<SecretKey, string> = {
  workspaceToken: 'workspaceTokenSecretArn',
  dashboardToken: 'dashboardTokenSecretArn',
  brokerKeys: 'brokerKeysSecretArn',
  viewerCredential: 'viewerCredentialSecretArn',
}

/** CloudWatch Logs accepts only these retention periods (days). */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
]

export interface CustomDomain {
  domainName: string
  certificateArn: string
  /** Route 53 hosted zone for the alias record; without it the operator points DNS by hand. */
  hostedZone?: { id: string; name: string }
}

/** Lambda architectures the broker builds for. */
export type Architecture = 'arm64' | 'x86_64'

/** Stage `dev` is the throw-away one: no termination or deletion protection. */
export const DEV_STAGE = 'dev'

/** The validated configuration the stack is built from. */
export interface BrokerConfig {
  /** Stage name: part of the stack name and of every physical resource name. */
  stage: string
  /** Deploy region when known (-c region or CDK_DEFAULT_REGION); picks the secrets layer. */
  region?: string
  architecture: Architecture
  /** Explicit Parameters and Secrets extension layer ARN (overrides the region table). */
  paramsSecretsLayerArn?: string
  /** Create the shared-state DynamoDB table (default true; required when the policy trusts OIDC issuers). */
  stateTable: boolean
  /** Accounts (12 digits) and IAM principal ARNs allowed to put deploy requests on the stage's bus. */
  eventSenders: string[]
  /** EventBridge schedule expression for the mapping's autoPromote paths; unset = no schedule (the default). */
  autoPromoteSchedule?: string
  /** Customer managed KMS key for the secrets (created ones are encrypted with it; functions get Decrypt). */
  secretsKmsKeyArn?: string
  /** Termination protection on the stack and deletion protection on the table. */
  protect: boolean
  /** Tags on every resource of the stack (stage and app are always added). */
  tags: Record<string, string>
  oidcAudience: string
  githostedUrl: string
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  statusRepo: string
  secretCacheTtlSeconds: number
  /** ARNs of secrets to import instead of creating them. */
  secretArns: Partial<Record<SecretKey, string>>
  /** Fallback when config/deploy-mapping.json is absent. */
  ecrRepositories: string[]
  alarmEmail?: string
  customDomain?: CustomDomain
  throttle: { rateLimit: number; burstLimit: number }
  logRetentionDays: number
  /** Optional: new accounts often cannot reserve concurrency at all. */
  reservedConcurrency?: number
  sourceMaps: boolean
}

/** Thrown for bad context; `cdk synth` prints the message and exits non-zero. */
export class ContextError extends Error {
  override name = 'ContextError'
}

// The partition, region and account parts are checked loosely on purpose: new
// partitions and regions appear; the shape of the resource part is what matters.
// Complete ARNs only (Secrets Manager appends '-' and 6 random characters to the name):
// IAM matches the complete ARN, so a name-only ARN in a grant would silently deny.
const SECRET_ARN_RE = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/
const ACM_ARN_RE = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/
const KMS_KEY_ARN_RE = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/
const LAYER_ARN_RE = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:layer:[A-Za-z0-9_-]+:\d+$/
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/
const STAGE_RE = /^[a-z][a-z0-9-]{0,15}$/
const ACCOUNT_RE = /^\d{12}$/
const PRINCIPAL_ARN_RE = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):[A-Za-z0-9+=,.@_/-]+$/
const HOSTED_ZONE_ID_RE = /^Z[A-Z0-9]{1,32}$/
const TAG_KEY_RE = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/
// ECR repository names: lowercase, may contain namespaces separated by '/'.
const ECR_REPO_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

type Lookup = (key: string) => unknown

/** Reads the broker configuration from a construct's context. */
export function readConfig(node: Pick<Node, 'tryGetContext'>, defaults: { region?: string } = {}): BrokerConfig {
  return parseConfig((key) => node.tryGetContext(key), defaults)
}

/**
 * The account of a sender: a 12-digit account as given, or the account part of
 * an IAM principal ARN. The rules filter on these, so a sender from any other
 * account is dropped by the bus even if a policy slip let it in.
 */
export function senderAccount(sender: string): string {
  return ACCOUNT_RE.test(sender) ? sender : PRINCIPAL_ARN_RE.exec(sender)![2]!
}

/**
 * Validates raw context values; throws one ContextError listing every problem.
 *
 * Stages: `-c stage=NAME` (default `dev`) selects `stages.NAME` in the context
 * (cdk.json), whose keys override the top-level ones for that stage only; so
 * one cdk.json holds every stage's senders, alarms and domain side by side.
 */
export function parseConfig(rawGet: Lookup, defaults: { region?: string } = {}): BrokerConfig {
  const problems: string[] = []
  const stageRaw = rawGet('stage')
  const stage = stageRaw === undefined || stageRaw === null || stageRaw === '' ? DEV_STAGE : String(stageRaw)
  if (!STAGE_RE.test(stage)) {
    problems.push(`stage: expected 1-16 lowercase letters, digits or '-', starting with a letter; got ${JSON.stringify(stageRaw)}`)
  }
  const stages = rawGet('stages')
  let stageContext: Record<string, unknown> = {}
  if (stages !== undefined && stages !== null) {
    if (typeof stages !== 'object' || Array.isArray(stages)) problems.push('stages: expected an object of stage name -> context')
    else {
      const own = (stages as Record<string, unknown>)[stage]
      if (own !== undefined) {
        if (typeof own !== 'object' || own === null || Array.isArray(own)) problems.push(`stages.${stage}: expected an object`)
        else stageContext = own as Record<string, unknown>
      }
    }
  }
  const get: Lookup = (key) => (key in stageContext ? stageContext[key] : rawGet(key))
  const str = (key: string, fallback?: string): string | undefined => {
    const v = get(key)
    if (v === undefined || v === null || v === '') return fallback
    if (typeof v !== 'string') {
      problems.push(`${key}: expected a string, got ${JSON.stringify(v)}`)
      return fallback
    }
    return v.trim()
  }
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = get(key)
    if (v === undefined || v === null || v === '') return fallback
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
      return fallback
    }
    return n
  }
  const bool = (key: string): boolean => {
    const v = get(key)
    if (v === undefined || v === null || v === '') return false
    // `-c key=true` arrives as a string; cdk.json values arrive as JSON booleans.
    if (v === true || v === 'true') return true
    if (v === false || v === 'false') return false
    problems.push(`${key}: expected true or false, got ${JSON.stringify(v)}`)
    return false
  }

  const oidcAudience = str('oidcAudience')
  if (!oidcAudience) {
    problems.push(
      'oidcAudience: required (the `aud` CI jobs request for their OIDC token); ' +
        'set it in cdk.json or pass -c oidcAudience=<value>',
    )
  }

  const githostedUrl = str('githostedUrl', 'https://api.githosted.dev')!
  if (!isHttpsUrl(githostedUrl)) {
    problems.push(`githostedUrl: expected an https:// URL, got ${JSON.stringify(githostedUrl)}`)
  }

  const logLevel = str('logLevel', 'info')!
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`logLevel: expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`)
  }

  const statusRepo = str('statusRepo', 'deploy-configs')!
  if (!/^[A-Za-z0-9._-]+$/.test(statusRepo)) {
    problems.push(`statusRepo: expected a repository name, got ${JSON.stringify(statusRepo)}`)
  }

  const secretArns: Partial<Record<SecretKey, string>> = {}
  for (const key of SECRET_KEYS) {
    const ctx = SECRET_ARN_CONTEXT[key]
    const arn = str(ctx)
    if (arn === undefined) continue
    if (!SECRET_ARN_RE.test(arn)) {
      problems.push(
        `${ctx}: not a complete Secrets Manager secret ARN ` +
          `(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>; ` +
          `see \`aws secretsmanager describe-secret --secret-id <name> --query ARN\`), got ${JSON.stringify(arn)}`,
      )
      continue
    }
    secretArns[key] = arn
  }

  const ecrRepositories = readRepositoryList(get('ecrRepositories'), problems)

  const alarmEmail = str('alarmEmail')
  if (alarmEmail !== undefined && !EMAIL_RE.test(alarmEmail)) {
    problems.push(`alarmEmail: not an email address: ${JSON.stringify(alarmEmail)}`)
  }

  const domainName = str('domainName')
  const certificateArn = str('certificateArn')
  let customDomain: CustomDomain | undefined
  if (domainName !== undefined || certificateArn !== undefined) {
    if (!domainName || !certificateArn) {
      problems.push('domainName and certificateArn: set both for a custom domain, or neither')
    } else if (!DOMAIN_RE.test(domainName)) {
      problems.push(`domainName: not a lowercase DNS name: ${JSON.stringify(domainName)}`)
    } else if (!ACM_ARN_RE.test(certificateArn)) {
      problems.push(
        `certificateArn: not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), ` +
          `got ${JSON.stringify(certificateArn)}`,
      )
    } else {
      customDomain = { domainName, certificateArn }
    }
  }

  const hostedZoneId = str('hostedZoneId')
  const hostedZoneName = str('hostedZoneName')
  if (hostedZoneId !== undefined || hostedZoneName !== undefined) {
    if (!hostedZoneId || !hostedZoneName) problems.push('hostedZoneId and hostedZoneName: set both for the Route 53 alias, or neither')
    else if (!HOSTED_ZONE_ID_RE.test(hostedZoneId)) problems.push(`hostedZoneId: not a Route 53 hosted zone id: ${JSON.stringify(hostedZoneId)}`)
    else if (!customDomain) problems.push('hostedZoneId: only with domainName and certificateArn')
    else if (!(customDomain.domainName === hostedZoneName || customDomain.domainName.endsWith(`.${hostedZoneName}`))) {
      problems.push(`hostedZoneName: ${hostedZoneName} does not contain domainName ${customDomain.domainName}`)
    } else customDomain.hostedZone = { id: hostedZoneId, name: hostedZoneName }
  }

  const region = str('region', defaults.region)
  if (region !== undefined && !REGION_RE.test(region)) problems.push(`region: not an AWS region name: ${JSON.stringify(region)}`)
  const architecture = str('architecture', 'arm64')!
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    problems.push(`architecture: expected arm64 or x86_64, got ${JSON.stringify(architecture)}`)
  }
  const paramsSecretsLayerArn = str('paramsSecretsLayerArn')
  if (paramsSecretsLayerArn !== undefined) {
    const m = LAYER_ARN_RE.exec(paramsSecretsLayerArn)
    if (!m) {
      problems.push(
        `paramsSecretsLayerArn: not a Lambda layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>), ` +
          `got ${JSON.stringify(paramsSecretsLayerArn)}`,
      )
    } else if (region !== undefined && m[1] !== region) {
      // Lambda only attaches layers from the function's own region.
      problems.push(`paramsSecretsLayerArn: the layer is in ${m[1]} but the stack deploys to ${region}`)
    }
  }

  const secretsKmsKeyArn = str('secretsKmsKeyArn')
  if (secretsKmsKeyArn !== undefined && !KMS_KEY_ARN_RE.test(secretsKmsKeyArn)) {
    problems.push(`secretsKmsKeyArn: not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; aliases are not accepted), got ${JSON.stringify(secretsKmsKeyArn)}`)
  }

  const eventSenders = readSenders(get('eventSenders'), problems)
  const autoPromoteSchedule = str('autoPromoteSchedule')
  if (autoPromoteSchedule !== undefined && !/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$/.test(autoPromoteSchedule)) {
    problems.push(`autoPromoteSchedule: an EventBridge schedule expression such as "rate(5 minutes)" or "cron(0/10 * * * ? *)", got ${JSON.stringify(autoPromoteSchedule)}`)
  }
  const tags = readTags(get('tags'), problems)

  const logRetentionDays = int('logRetentionDays', 365, 1, 3653)
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays: CloudWatch accepts only ${RETENTION_DAYS.join(', ')}; got ${logRetentionDays}`)
  }

  const reserved = get('reservedConcurrency')
  const reservedConcurrency =
    reserved === undefined || reserved === null || reserved === '' ? undefined : int('reservedConcurrency', 0, 1, 1000)

  const stateTable = get('stateTable') === undefined ? true : bool('stateTable')
  const protect = get('terminationProtection') === undefined ? stage !== DEV_STAGE : bool('terminationProtection')

  const config: BrokerConfig = {
    stage,
    architecture: architecture as Architecture,
    stateTable,
    eventSenders,
    ...(autoPromoteSchedule ? { autoPromoteSchedule } : {}),
    protect,
    tags,
    oidcAudience: oidcAudience ?? '',
    githostedUrl,
    logLevel: logLevel as BrokerConfig['logLevel'],
    statusRepo,
    secretCacheTtlSeconds: int('secretCacheTtlSeconds', 300, 0, 3600),
    secretArns,
    ecrRepositories,
    throttle: {
      rateLimit: int('throttleRateLimit', 20, 1, 10000),
      burstLimit: int('throttleBurstLimit', 40, 1, 5000),
    },
    logRetentionDays,
    sourceMaps: bool('sourceMaps'),
  }
  if (alarmEmail !== undefined) config.alarmEmail = alarmEmail
  if (customDomain) config.customDomain = customDomain
  if (reservedConcurrency !== undefined) config.reservedConcurrency = reservedConcurrency
  if (region !== undefined) config.region = region
  if (paramsSecretsLayerArn !== undefined) config.paramsSecretsLayerArn = paramsSecretsLayerArn
  if (secretsKmsKeyArn !== undefined) config.secretsKmsKeyArn = secretsKmsKeyArn

  if (problems.length > 0) {
    throw new ContextError(`invalid CDK context:\n  - ${problems.join('\n  - ')}`)
  }
  return config
}

/** Validates a list of ECR repository names from context (array or comma-separated string). */
function readRepositoryList(raw: unknown, problems: string[]): string[] {
  if (raw === undefined || raw === null || raw === '') return []
  const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw
  if (!Array.isArray(list) || !list.every((r) => typeof r === 'string')) {
    problems.push(`ecrRepositories: expected a list of repository names, got ${JSON.stringify(raw)}`)
    return []
  }
  const bad = list.filter((r) => !isEcrRepositoryPattern(r))
  if (bad.length > 0) problems.push(`ecrRepositories: not ECR repository names or globs: ${bad.join(', ')}`)
  return [...new Set(list)]
}

/** Deploy-request senders: 12-digit accounts or IAM role/user ARNs (array or comma-separated). */
function readSenders(raw: unknown, problems: string[]): string[] {
  if (raw === undefined || raw === null || raw === '') return []
  const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw
  if (!Array.isArray(list) || !list.every((r) => typeof r === 'string')) {
    problems.push(`eventSenders: expected a list of account ids or IAM principal ARNs, got ${JSON.stringify(raw)}`)
    return []
  }
  const bad = list.filter((r) => !ACCOUNT_RE.test(r) && !PRINCIPAL_ARN_RE.test(r))
  if (bad.length > 0) {
    problems.push(`eventSenders: not a 12-digit account id or an IAM principal ARN (arn:aws:iam::<account>:role/<name>): ${bad.join(', ')}`)
    return []
  }
  return [...new Set(list)].sort()
}

/** Stack tags: an object of string values. */
function readTags(raw: unknown, problems: string[]): Record<string, string> {
  if (raw === undefined || raw === null || raw === '') return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`tags: expected an object of tag name -> value, got ${JSON.stringify(raw)}`)
    return {}
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (!TAG_KEY_RE.test(k) || k.startsWith('aws:') || typeof v !== 'string' || v.length > 256) {
      problems.push(`tags.${k}: keys up to 128 characters (not aws:*), string values up to 256`)
      continue
    }
    out[k] = v
  }
  return out
}

/** True for an ECR repository name, or a glob of one (`*`, `?`) as config/deploy-mapping.json allows. */
export function isEcrRepositoryPattern(pattern: string): boolean {
  if (pattern.length < 1 || pattern.length > 256) return false
  if (/[*?]/.test(pattern)) return /^[a-z0-9._/*?-]+$/.test(pattern)
  return pattern.length >= 2 && ECR_REPO_RE.test(pattern)
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:'
  } catch {
    return false
  }
}
