/**
 * Checks that passed against an environment's current value, recorded so a
 * promotion gate can require them. `verifications/<env>.json` holds
 * `{"commit": <the commit that set the value>, "checks": {<name>: {by, at, runUrl?}}}`;
 * each recording is a commit with `Verified-By` and `Verified-Commit`
 * trailers, so the deploy log shows what was tested and by whom. A new value
 * in the environment starts a new record: checks on an older commit do not
 * carry over.
 */
import { CHECK_NAME_RE } from '../policy/check-name.js'
import { ConflictError, NotFoundAppError, ValidationError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import { DEFAULT_AUTHOR } from './apply.js'
import { type ConfigLayout, DEFAULT_LAYOUT, environmentPath, validateEnvironmentName } from './change.js'
import { isNotFound, isRepoBusy, isStaleHead } from './errors.js'
import { parsePointer } from './json-pointer.js'
import { parseJsonText } from './json-parse.js'
import { valueOrigin } from './origin.js'
import { formatDeployMessage } from './trailers.js'

export interface CheckRecord {
  by: string
  at: string
  runUrl?: string
}

export interface Verification {
  commit: string
  checks: Record<string, CheckRecord>
}

export function verificationPath(environment: string): string {
  return `verifications/${validateEnvironmentName(environment)}.json`
}

/** The recorded checks of `environment`, or undefined when none (or the file is unusable). */
export async function readVerification(repo: RepoHandle, environment: string, options: { ref?: string } = {}): Promise<Verification | undefined> {
  try {
    const f = await repo.read(verificationPath(environment), options.ref ? { ref: options.ref } : undefined)
    const doc = parseJsonText(f.content) as Partial<Verification>
    if (typeof doc?.commit !== 'string' || typeof doc.checks !== 'object' || doc.checks === null) return undefined
    return { commit: doc.commit, checks: doc.checks }
  } catch (err) {
    // Not there, or written by hand into something else: no check passed.
    if (isNotFound(err) || err instanceof ValidationError) return undefined
    throw err
  }
}

export interface VerifyInput {
  environment: string
  check: string
  /** The commit the check ran against; it must be the one that set the current value. */
  commit?: string
  requester: string
  runUrl?: string
  layout?: ConfigLayout
  now: Date
}

export interface VerifyOutcome {
  environment: string
  path: string
  verified: Verification
  commit: string
  changed: boolean
}

const MAX_ATTEMPTS = 5

export function checkName(value: unknown): string {
  if (typeof value !== 'string' || !CHECK_NAME_RE.test(value)) {
    throw new ValidationError('check must be 1-64 characters of letters, digits, ".", "_", ":", "/" or "-".', 'check')
  }
  return value
}

/** Records that `check` passed against the environment's current value. */
export async function recordVerification(repo: RepoHandle, input: VerifyInput): Promise<VerifyOutcome> {
  const layout = input.layout ?? DEFAULT_LAYOUT
  const environment = validateEnvironmentName(input.environment)
  const check = checkName(input.check)
  const envPath = environmentPath(environment, layout)
  const path = verificationPath(environment)
  for (let attempt = 1; ; attempt++) {
    let file
    try {
      file = await repo.read(envPath)
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundAppError(`Unknown environment "${environment}": ${envPath} does not exist.`)
      throw err
    }
    const doc = parseJsonText(file.content, envPath)
    const origin = await valueOrigin(repo, { path: envPath, keys: [parsePointer(layout.imagePointer)], current: doc, ref: file.headSha })
    if (!origin) throw new NotFoundAppError(`No commit of ${envPath} sets its current image.`)
    const commit = origin.commit.sha
    if (input.commit && !commit.startsWith(input.commit)) {
      throw new VerifiedCommitMismatchError(
        `${environment} no longer runs what commit ${input.commit.slice(0, 12)} deployed (its image was set by ${commit.slice(0, 12)}); the check result is not recorded.`,
        commit,
      )
    }
    const prior = await readVerification(repo, environment, { ref: file.headSha })
    const checks = prior?.commit === commit ? { ...prior.checks } : {}
    if (checks[check]) return { environment, path, verified: { commit, checks }, commit: file.headSha, changed: false }
    checks[check] = { by: input.requester, at: input.now.toISOString(), ...(input.runUrl ? { runUrl: input.runUrl } : {}) }
    const verified: Verification = { commit, checks }
    const message = formatDeployMessage(`Verify ${environment} at ${commit.slice(0, 12)}: ${check} passed`, {
      environment,
      source: 'verify',
      changes: [],
      requester: input.requester,
      runUrl: input.runUrl,
      verifiedBy: check,
      verifiedCommit: commit,
    })
    try {
      const w = await repo.write(path, JSON.stringify(verified, null, 2) + '\n', { message, expectedHead: file.headSha, authorName: DEFAULT_AUTHOR.name, authorEmail: DEFAULT_AUTHOR.email })
      return { environment, path, verified, commit: w.commit, changed: true }
    } catch (err) {
      // Another write in between: read again, so no other check's record is lost.
      if ((isStaleHead(err) || isRepoBusy(err)) && attempt < MAX_ATTEMPTS) continue
      throw err
    }
  }
}

/** The commit the check ran against no longer set the environment's value. */
export class VerifiedCommitMismatchError extends ConflictError {
  static override readonly code: string = 'VERIFY_COMMIT_MISMATCH'
  constructor(
    message: string,
    readonly current: string,
  ) {
    super(message)
  }
  override details() {
    return { current: this.current }
  }
}
