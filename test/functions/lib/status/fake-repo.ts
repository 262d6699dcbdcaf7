/**
 * An in-memory RepoHandle with real commit semantics (snapshots per commit,
 * path-filtered newest-first log, reads at any commit), for the status
 * module's unit tests. It counts calls and the most calls in flight at once.
 */
import { createHash } from 'node:crypto'
import type { CommitInfo, FileContent, FileEntry, RepoHandle, WriteOptions, WriteResult } from '../../../../functions/lib/githosted/types.js'
import { NotFoundError } from '../../../../functions/lib/githosted/errors.js'

interface Commit {
  sha: string
  files: Map<string, string>
  info: CommitInfo
}

export interface FakeRepoOptions {
  /** Return only the subject from log, like today's githosted. */
  subjectOnly?: boolean
  /** Delay of each call, to observe concurrency. */
  delayMs?: number
}

export class FakeRepo implements RepoHandle {
  readonly ref = 'fake'
  readonly commits: Commit[] = []
  readonly calls: string[] = []
  inFlight = 0
  maxInFlight = 0
  private clock = Date.parse('2024-05-01T10:00:00Z')

  constructor(private readonly options: FakeRepoOptions = {}) {}

  /** Commits `changes` (null deletes) on top of the current head. */
  commit(changes: Record<string, string | null>, message: string, author = 'Alice'): string {
    const files = new Map(this.commits[0]?.files ?? [])
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) files.delete(path)
      else files.set(path, content)
    }
    const sha = createHash('sha1').update(`${this.commits.length}:${message}`).digest('hex')
    this.clock += 60_000
    this.commits.unshift({
      sha,
      files,
      info: {
        sha,
        authorName: author,
        authorEmail: `${author.toLowerCase()}@example.com`,
        committedAt: new Date(this.clock),
        subject: message.split('\n')[0]!,
        message,
      },
    })
    return sha
  }

  get head(): string | undefined {
    return this.commits[0]?.sha
  }

  private async call<T>(name: string, work: () => T): Promise<T> {
    this.calls.push(name)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      await new Promise((r) => setTimeout(r, this.options.delayMs ?? 0))
      return work()
    } finally {
      this.inFlight--
    }
  }

  private at(ref: string | undefined): Commit {
    const commit = ref ? this.commits.find((c) => c.sha === ref) : this.commits[0]
    if (!commit) throw notFound(`ref ${ref ?? 'HEAD'}`)
    return commit
  }

  ls(path = '', options?: { ref?: string }): Promise<FileEntry[]> {
    return this.call('ls', () => {
      const prefix = path ? `${path.replace(/\/$/, '')}/` : ''
      const names = new Map<string, FileEntry['type']>()
      for (const p of this.at(options?.ref).files.keys()) {
        if (!p.startsWith(prefix)) continue
        const rest = p.slice(prefix.length)
        const [first, ...more] = rest.split('/')
        names.set(first!, more.length > 0 ? 'directory' : 'file')
      }
      if (names.size === 0 && prefix) throw notFound(path)
      return [...names].map(([name, type]) => ({ name, path: prefix + name, type }))
    })
  }

  read(path: string, options?: { ref?: string }): Promise<FileContent> {
    return this.call('read', () => {
      const commit = this.at(options?.ref)
      const content = commit.files.get(path)
      if (content === undefined) throw notFound(path)
      return { path, content, rawContent: Buffer.from(content), headSha: commit.sha, blobSha: 'x' }
    })
  }

  log(options: { ref?: string; path?: string; limit?: number } = {}): Promise<CommitInfo[]> {
    return this.call('log', () => {
      if (this.commits.length === 0) return []
      const start = this.commits.findIndex((c) => c.sha === (options.ref ?? this.commits[0]!.sha))
      if (start < 0) throw notFound(`ref ${options.ref}`)
      const out: CommitInfo[] = []
      for (let i = start; i < this.commits.length; i++) {
        const c = this.commits[i]!
        const parent = this.commits[i + 1]
        if (options.path && c.files.get(options.path) === parent?.files.get(options.path)) continue
        out.push(this.options.subjectOnly ? { ...c.info, message: undefined } : c.info)
        if (options.limit && out.length >= options.limit) break
      }
      return out
    })
  }

  write(_path: string, _content: string | Uint8Array, _options: WriteOptions): Promise<WriteResult> {
    throw new Error('the status module must never write')
  }
  delete(_path: string, _options: WriteOptions): Promise<WriteResult> {
    throw new Error('the status module must never write')
  }
  diff(): Promise<string> {
    throw new Error('not used')
  }
  listBranches(): Promise<never> {
    throw new Error('not used')
  }
}

function notFound(what: string) {
  return new NotFoundError(`${what} not found`, { connectCode: 'not_found', procedure: 'fake' })
}
