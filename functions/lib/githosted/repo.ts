/**
 * The data-plane handle for one repo: files, history, branches. It works
 * against both kinds of server (docs/githosted-compatibility.md):
 *
 * - A server with our concurrency extensions returns `headSha`/`sha` on reads
 *   and refuses a write whose `expectedHead` is stale (StaleHeadError).
 * - Today's hosted server returns only `content` and ignores `expectedHead`.
 *   There the handle learns the head from `Log` and reads AT that commit, so
 *   content and headSha always agree; and after a write with `expectedHead` it
 *   checks that the new commit's parent is the expected head, throwing
 *   ExpectedHeadViolationError (the write landed; the caller repairs) if not.
 *   A pre-check of the head before writing narrows the race window (and
 *   avoids most clobbers outright); the after-the-fact check closes it.
 *
 * The reads are here; the write path is repo-write.ts.
 */
import { gitBlobSha } from './blob-sha.js'
import { NotFoundError } from './errors.js'
import type { ServerCapabilities } from './capabilities.js'
import { branchInfo, commitInfo } from './mappers.js'
import { LOG, type Rpc, type VerifyMode } from './repo-rpc.js'
import { RepoWrites } from './repo-write.js'
import type {
  BranchInfo,
  CommitInfo,
  FileContent,
  FileEntry,
  RepoHandle,
  WriteOptions,
  WriteResult,
} from './types.js'

export type { ServerCapabilities } from './capabilities.js'
export type { Rpc, VerifyMode } from './repo-rpc.js'

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
const decoder = new TextDecoder()

function normalizeDir(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

export class Repo implements RepoHandle {
  private readonly writes: RepoWrites

  constructor(
    /** The slug or `rp_` id this handle addresses. */
    readonly ref: string,
    private readonly rpc: Rpc,
    private readonly caps: ServerCapabilities,
    verifyMode: VerifyMode,
  ) {
    this.writes = new RepoWrites(ref, rpc, caps, verifyMode, {
      headOf: (r) => this.headOf(r),
      readFile: (path, r) => this.readFile(path, r),
      log: (options) => this.log(options),
    })
  }

  /** One directory level; `tree` entries are directories, everything else a file. */
  async ls(path = '', options: { ref?: string } = {}): Promise<FileEntry[]> {
    const dir = normalizeDir(path)
    return this.rpc(
      '/githosted.v1.RepoService/ListFiles',
      { repoRef: this.ref, ref: options.ref ?? '', path: dir },
      (res) =>
        res.messages('entries').map((e): FileEntry => {
          const name = e.string('name')
          return {
            name,
            path: dir ? `${dir}/${name}` : name,
            type: e.string('type') === 'tree' ? 'directory' : 'file',
          }
        }),
      'idempotent',
    )
  }

  async read(path: string, options: { ref?: string } = {}): Promise<FileContent> {
    const ref = options.ref ?? ''
    if (this.caps.headSha !== 'no') {
      const res = await this.readFile(path, ref)
      if (res.headSha !== '') {
        this.caps.headSha = 'yes'
        return this.content(path, res.content, res.headSha, res.sha)
      }
      this.caps.headSha = 'no'
      // A full SHA is its own head: the bytes we have are already consistent.
      if (FULL_SHA.test(ref)) return this.content(path, res.content, ref, res.sha)
    }
    // Compat server: pin the commit first, then read at it, so headSha and
    // content describe the same state even if the branch moves in between.
    const head = FULL_SHA.test(ref) ? ref : await this.headOf(ref)
    const res = await this.readFile(path, head)
    return this.content(path, res.content, head, res.sha)
  }

  write(path: string, content: string | Uint8Array, options: WriteOptions): Promise<WriteResult> {
    return this.writes.write(path, content, options)
  }

  /** A real DeleteFile (not an empty write, as githosted's SDKs do). */
  delete(path: string, options: WriteOptions): Promise<WriteResult> {
    return this.writes.delete(path, options)
  }

  async log(options: { ref?: string; path?: string; limit?: number } = {}): Promise<CommitInfo[]> {
    return this.rpc(
      LOG,
      {
        repoRef: this.ref,
        ref: options.ref ?? '',
        path: options.path ?? '',
        limit: options.limit ?? 0,
      },
      (res) => res.messages('commits').map(commitInfo),
      'idempotent',
    )
  }

  async diff(base: string, head: string, options: { path?: string } = {}): Promise<string> {
    return this.rpc(
      '/githosted.v1.RepoService/Diff',
      { repoRef: this.ref, base, head, path: options.path ?? '' },
      (res) => res.string('patch'),
      'idempotent',
    )
  }

  async listBranches(): Promise<BranchInfo[]> {
    return this.rpc(
      '/githosted.v1.RepoService/ListBranches',
      { repoRef: this.ref },
      (res) => res.messages('branches').map(branchInfo),
      'idempotent',
    )
  }

  private readFile(path: string, ref: string) {
    return this.rpc(
      '/githosted.v1.RepoService/ReadFile',
      { repoRef: this.ref, ref, path },
      (res) => ({
        content: res.bytes('content'),
        headSha: res.string('headSha'),
        sha: res.string('sha'),
      }),
      'idempotent',
    )
  }

  private content(path: string, raw: Uint8Array, headSha: string, sha: string): FileContent {
    return {
      path,
      content: decoder.decode(raw),
      rawContent: raw,
      headSha,
      blobSha: sha !== '' ? sha : gitBlobSha(raw),
    }
  }

  /** The tip commit of `ref` ('' = default branch), from Log. */
  private async headOf(ref: string): Promise<string> {
    const head = await this.rpc(
      LOG,
      { repoRef: this.ref, ref, limit: 1 },
      (res) => res.messages('commits')[0]?.string('hash'),
      'idempotent',
    )
    if (!head) {
      throw new NotFoundError(`githosted ${this.ref}: no commit at ref '${ref || '(default)'}'`, {
        connectCode: 'not_found',
        procedure: LOG,
      })
    }
    return head
  }
}
