/**
 * The environment file as one deploy reads and writes it: reads that refuse
 * a file this service will not edit, checks on the edited text, writes sent
 * only while the repo's write lease holds, and one budget of write attempts
 * (the first write, stale-head retries and repairs alike) with a pause
 * between them.
 */
import type { Logger } from '../observability/logger.js'
import { currentDeadline } from '../deadline.js'
import { DependencyUnavailableError, NotFoundAppError, ValidationError } from '../errors.js'
import type { RepoHandle } from '../githosted/types.js'
import type { Lease } from '../state/lease.js'
import { type ApplyDeps, DEFAULT_AUTHOR, DEFAULT_RETRY, type RetryPolicy } from './apply-types.js'
import { type ConfigLayout, LIMITS, environmentPath } from './change.js'
import { ConfigFileInvalidError, DeployContentionError, type ExpectedHeadViolation, asExpectedHeadViolation, isNotFound } from './errors.js'
import { parseJsonText } from './json-parse.js'
import { checkSchema } from './schema.js'

/** A write must not outlive the lease it is sent under: renew first when less than this is left. */
const LEASE_MARGIN_MS = 11_000

export class DeployFile {
  readonly path: string
  /** Write attempts made (1 = first write landed), and stale-head retries / repairs among them. */
  attempts = 0
  retries = 0
  repairs = 0
  private readonly retry: RetryPolicy

  constructor(
    private readonly deps: ApplyDeps,
    readonly environment: string,
    private readonly layout: ConfigLayout,
    readonly logger: Logger,
    /** This deploy's turn at the repo, when coordinated; renewed before any write that could outlive it. */
    private lease: Lease | undefined,
  ) {
    this.path = environmentPath(environment, layout)
    this.retry = { ...DEFAULT_RETRY, ...deps.retry }
  }

  get repo(): RepoHandle {
    return this.deps.repo
  }

  async read(ref?: string) {
    try {
      return await this.deps.repo.read(this.path, ref ? { ref } : undefined)
    } catch (err) {
      if (isNotFound(err)) {
        if (ref) throw new DependencyUnavailableError(`${this.path} disappeared at ${ref.slice(0, 12)} while deploying; try again.`)
        throw new NotFoundAppError(`Unknown environment "${this.environment}": ${this.path} does not exist in ${this.deps.repoName}.`)
      }
      throw err
    }
  }

  parse(content: string): unknown {
    if (Buffer.byteLength(content) > LIMITS.fileBytes) {
      throw new ConfigFileInvalidError(`${this.path} in ${this.deps.repoName} is larger than ${LIMITS.fileBytes} bytes; nothing was written.`)
    }
    try {
      return parseJsonText(content, `${this.path} in ${this.deps.repoName}`)
    } catch (err) {
      throw new ConfigFileInvalidError((err as Error).message)
    }
  }

  checkSize(text: string): void {
    if (Buffer.byteLength(text) > LIMITS.fileBytes) {
      throw new ValidationError(`The change would make ${this.path} larger than ${LIMITS.fileBytes} bytes.`, 'set')
    }
  }

  /**
   * The schema's text at `ref`, or undefined when the layout names none or the
   * file does not exist there. Separate from the check so that the read can
   * go out with the deploy's other reads instead of after them.
   */
  async readSchema(ref: string): Promise<string | undefined> {
    const schemaPath = this.layout.schemaPath
    if (!schemaPath) return undefined
    try {
      return (await this.deps.repo.read(schemaPath, { ref })).content
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  checkSchema(doc: unknown, schemaText: string | undefined): void {
    const schemaPath = this.layout.schemaPath
    if (!schemaPath || schemaText === undefined) return
    let errors: string[]
    try {
      errors = checkSchema(JSON.parse(schemaText), doc)
    } catch (err) {
      throw new ConfigFileInvalidError(`${schemaPath} cannot be used: ${(err as Error).message}; nothing was written.`)
    }
    if (errors.length > 0) {
      throw new ValidationError(`The change would violate ${schemaPath}: ${errors.slice(0, 5).join('; ')}. Nothing was written.`, 'set')
    }
  }

  /** Writes `text` as the broker's author, and only while this deploy's lease holds for longer than the write can take. Returns the commit. */
  async write(text: string, message: string, expectedHead: string): Promise<string> {
    if (this.lease && this.deps.coordination) this.lease = await this.deps.coordination.leases.ensure(this.lease, LEASE_MARGIN_MS)
    const author = this.deps.author ?? DEFAULT_AUTHOR
    return (await this.deps.repo.write(this.path, text, { message, expectedHead, authorName: author.name, authorEmail: author.email })).commit
  }

  async backoff(): Promise<void> {
    // Inside a request budget, one backoff shared with the githosted client (lib/deadline.ts).
    const deadline = currentDeadline()
    if (deadline) return deadline.pause(`githosted stayed busy or ${this.path} kept changing (${this.attempts} write attempts)`)
    const { baseDelayMs, maxDelayMs } = this.retry
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.retries, 16))
    const ms = Math.floor((this.deps.random ?? Math.random)() * cap)
    await (this.deps.sleep ?? ((d: number) => new Promise<void>((r) => setTimeout(r, d))))(ms)
  }

  /** Throws once the attempt budget is spent; `landed` names a commit of ours that may still need a repair. */
  checkAttempts(landed: string | undefined): void {
    if (this.attempts < this.retry.maxAttempts) return
    this.logger.error('deploy gave up under contention', { attempts: this.attempts, landed })
    throw new DeployContentionError(
      `Could not write ${this.path} after ${this.attempts} attempts because of concurrent writes${landed ? ` (commit ${landed.slice(0, 12)} may still need a repair)` : ''}; try again.`,
    )
  }

  /** The violation a failed write reports (with its parent looked up if the client could not), or rethrows. */
  async violationOf(err: unknown): Promise<ExpectedHeadViolation> {
    const v = asExpectedHeadViolation(err)
    if (!v) throw err
    if (v.actualParent === '') {
      // The client could not check the parent; look it up (linear history: the next commit back).
      v.actualParent = (await this.deps.repo.log({ ref: v.commit, limit: 2 }))[1]?.sha ?? ''
      if (v.actualParent === '') throw err
    }
    return v
  }
}
