/**
 * An in-memory RepoHandle with Git-like history for unit tests of the deploy
 * core: 'enforce' mode refuses a write whose expectedHead is not the tip
 * (StaleHeadError, as the local server and the documented API do); 'compat'
 * mode lets it land and then throws what our client throws after its
 * after-the-fact parent check (ExpectedHeadViolationError). Every call
 * yields to the event loop so concurrent callers interleave.
 */
import { createHash } from 'node:crypto'
import { ExpectedHeadViolationError, NotFoundError, StaleHeadError } from '../../../../functions/lib/githosted/errors.js'
import type { CommitInfo, FileContent, FileEntry, RepoHandle, WriteOptions, WriteResult } from '../../../../functions/lib/githosted/types.js'

interface Commit {
  sha: string
  parent?: string
  files: Map<string, string>
  message: string
  at: Date
  changed: string[]
}

function staleHead(ref: string, expectedHead: string, actualHead: string): StaleHeadError {
  return new StaleHeadError(
    `stale head: expected ${expectedHead.slice(0, 8)}, tip is ${actualHead.slice(0, 8)}`,
    { connectCode: 'failed_precondition', procedure: 'fake WriteFile' },
    { repoId: 'fake', ref, expectedHead, actualHead },
  )
}

function notFound(what: string): NotFoundError {
  return new NotFoundError(what, { connectCode: 'not_found', procedure: 'fake' })
}

export class FakeRepo implements RepoHandle {
  readonly ref = 'deploy-configs'
  mode: 'enforce' | 'compat'
  /** Whether Log returns full messages (our extension) or only subjects. */
  fullMessages = true
  private readonly commits = new Map<string, Commit>()
  private tip: string
  writes = 0
  /**
   * Extra event-loop turns before a call (seeded by the caller), to widen and
   * vary the races; `where` says which step is being delayed.
   */
  delay?: (where: 'read' | 'log' | 'write' | 'check' | 'precheck') => number
  /** Mimic our client against a non-enforcing server: refuse a stale expectedHead before writing. */
  precheck = false
  private n = 0

  constructor(files: Record<string, string>, options: { mode?: 'enforce' | 'compat' } = {}) {
    this.mode = options.mode ?? 'enforce'
    const c = this.commit(undefined, new Map(Object.entries(files)), 'Initial commit\n', Object.keys(files))
    this.tip = c.sha
  }

  get head(): string {
    return this.tip
  }

  private commit(parent: string | undefined, files: Map<string, string>, message: string, changed: string[]): Commit {
    const sha = createHash('sha1').update(`${parent}:${++this.n}:${message}`).digest('hex')
    const c: Commit = { sha, parent, files, message, at: new Date(Date.UTC(2026, 0, 1, 0, 0, this.n)), changed }
    this.commits.set(sha, c)
    return c
  }

  private async tick(where?: 'read' | 'log' | 'write' | 'check' | 'precheck') {
    const extra = where && this.delay ? this.delay(where) : 0
    for (let i = 0; i <= extra; i++) await new Promise((r) => setImmediate(r))
  }

  fileAt(path: string, ref?: string): string | undefined {
    return this.commits.get(ref ?? this.tip)?.files.get(path)
  }

  /** The commits touching `path`, newest first (like `git log -- path`). */
  history(path?: string, ref?: string): Commit[] {
    const out: Commit[] = []
    for (let c = this.commits.get(ref ?? this.tip); c; c = c.parent ? this.commits.get(c.parent) : undefined) {
      if (!path || c.changed.includes(path)) out.push(c)
    }
    return out
  }

  /** Writes directly, as an outside writer would (no checks). */
  put(path: string, content: string, message = 'manual edit\n'): string {
    const cur = this.commits.get(this.tip)!
    const files = new Map(cur.files)
    files.set(path, content)
    this.tip = this.commit(this.tip, files, message, [path]).sha
    return this.tip
  }

  async ls(): Promise<FileEntry[]> {
    return []
  }

  async read(path: string, options?: { ref?: string }): Promise<FileContent> {
    await this.tick('read')
    const ref = options?.ref ?? this.tip
    const c = this.commits.get(ref)
    if (!c) throw notFound(`no ref ${ref}`)
    const content = c.files.get(path)
    if (content === undefined) throw notFound(`no file ${path}`)
    return { path, content, rawContent: Buffer.from(content), headSha: ref, blobSha: '' }
  }

  async write(path: string, content: string | Uint8Array, options: WriteOptions): Promise<WriteResult> {
    if (this.precheck && this.mode === 'compat' && options.expectedHead) {
      await this.tick('precheck')
      if (options.expectedHead !== this.tip) throw staleHead(this.ref, options.expectedHead, this.tip)
    }
    await this.tick('write')
    this.writes++
    const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8')
    const parent = this.tip
    if (options.expectedHead && options.expectedHead !== parent && this.mode === 'enforce') {
      throw staleHead(this.ref, options.expectedHead, parent)
    }
    const files = new Map(this.commits.get(parent)!.files)
    files.set(path, text)
    const c = this.commit(parent, files, options.message, [path])
    this.tip = c.sha
    // The after-the-fact parent check is a separate call: other writes can land meanwhile.
    await this.tick('check')
    if (options.expectedHead && options.expectedHead !== parent) {
      throw new ExpectedHeadViolationError(
        { connectCode: 'failed_precondition', procedure: 'fake WriteFile' },
        { repoRef: this.ref, branch: 'main', path, expectedHead: options.expectedHead, actualParent: parent, commit: c.sha },
        'write landed on an unexpected parent',
      )
    }
    return { branch: 'main', commit: c.sha }
  }

  async delete(path: string, options: WriteOptions): Promise<WriteResult> {
    await this.tick()
    const files = new Map(this.commits.get(this.tip)!.files)
    if (!files.has(path)) throw notFound(`no file ${path}`)
    files.delete(path)
    const c = this.commit(this.tip, files, options.message, [path])
    this.tip = c.sha
    return { branch: 'main', commit: c.sha }
  }

  async log(options?: { ref?: string; path?: string; limit?: number }): Promise<CommitInfo[]> {
    await this.tick('log')
    return this.history(options?.path, options?.ref)
      .slice(0, options?.limit ?? 100)
      .map((c) => ({
        sha: c.sha,
        authorName: 'x',
        authorEmail: 'x@example.com',
        committedAt: c.at,
        subject: c.message.split('\n')[0]!,
        message: this.fullMessages ? c.message : undefined,
      }))
  }

  async diff(): Promise<string> {
    return ''
  }

  async listBranches() {
    return [{ name: 'main', commit: this.tip, isDefault: true }]
  }
}
