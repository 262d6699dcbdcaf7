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
}

/** The validated configuration the stack is built from. */
export interface BrokerConfig {
  oidcAudience: string
  githostedUrl: string
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  statusRepo: string
  secretCacheTtlSeconds: number
  /** ARNs of secrets to import instead of creating them. */
  secretArns: Partial<Record<SecretKey, string>>
  /** Fallback when config/deploy-mapping.json is absent. */
  ecrRepositories: string[]
  replayTable: boolean
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
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/
// ECR repository names: lowercase, may contain namespaces separated by '/'.
const ECR_REPO_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

type Lookup = (key: string) => unknown

/** Reads the broker configuration from a construct's context. */
export function readConfig(node: Pick<Node, 'tryGetContext'>): BrokerConfig {
  return parseConfig((key) => node.tryGetContext(key))
}

/** Validates raw context values; throws one ContextError listing every problem. */
export function parseConfig(get: Lookup): BrokerConfig {
  const problems: string[] = []
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

  const logRetentionDays = int('logRetentionDays', 30, 1, 3653)
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays: CloudWatch accepts only ${RETENTION_DAYS.join(', ')}; got ${logRetentionDays}`)
  }

  const reserved = get('reservedConcurrency')
  const reservedConcurrency =
    reserved === undefined || reserved === null || reserved === '' ? undefined : int('reservedConcurrency', 0, 1, 1000)

  const config: BrokerConfig = {
    oidcAudience: oidcAudience ?? '',
    githostedUrl,
    logLevel: logLevel as BrokerConfig['logLevel'],
    statusRepo,
    secretCacheTtlSeconds: int('secretCacheTtlSeconds', 300, 0, 3600),
    secretArns,
    ecrRepositories,
    replayTable: bool('replayTable'),
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
