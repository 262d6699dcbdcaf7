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
 */
import { encodeBase64 } from './base64.js'
import { gitBlobSha } from './blob-sha.js'
import {
  ExpectedHeadUnverifiedError,
  ExpectedHeadViolationError,
  GithostedError,
  GithostedTimeoutError,
  GithostedUnavailableError,
  NotFoundError,
  StaleHeadError,
  UnimplementedError,
} from './errors.js'
import { isUnknownExpectedHead, type ServerCapabilities } from './capabilities.js'
import { branchInfo, commitInfo } from './mappers.js'
import { GithostedNetworkError } from './network-error.js'
import { RECONCILE_DEPTH, findLandedWrite } from './reconcile.js'
import type { DeleteFileResponseJson, WriteFileResponseJson } from './gen/githosted/v1/repo_pb.js'
import type { JsonReader } from './json-reader.js'
import type { Procedure, RequestJson } from './procedures.js'
import type { CallSafety } from './retry.js'
import type { Decode } from './unary-call.js'
import type {
  BranchInfo,
  CommitInfo,
  FileContent,
  FileEntry,
  RepoHandle,
  WriteOptions,
  WriteResult,
} from './types.js'

/** A retried, typed unary call (bound to one client's config). */
export type Rpc = <P extends Procedure, R>(
  procedure: P,
  input: RequestJson<P>,
  decode: Decode<P, R>,
  safety: CallSafety,
) => Promise<R>

const LOG = '/githosted.v1.RepoService/Log'
const WRITE_FILE = '/githosted.v1.RepoService/WriteFile'
const DELETE_FILE = '/githosted.v1.RepoService/DeleteFile'

export type { ServerCapabilities } from './capabilities.js'

export type VerifyMode = 'auto' | 'always' | 'never'

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
const decoder = new TextDecoder()
const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

function normalizeDir(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

export class Repo implements RepoHandle {
  constructor(
    /** The slug or `rp_` id this handle addresses. */
    readonly ref: string,
    private readonly rpc: Rpc,
    private readonly caps: ServerCapabilities,
    private readonly verifyMode: VerifyMode,
  ) {}

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
    const bytes = typeof content === 'string' ? encoder.encode(content) : content
    return this.mutate('write', path, options, bytes)
  }

  /** A real DeleteFile (not an empty write, as githosted's SDKs do). */
  delete(path: string, options: WriteOptions): Promise<WriteResult> {
    return this.mutate('delete', path, options)
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

  private shouldVerify(expectedHead: string): boolean {
    if (expectedHead === '' || this.verifyMode === 'never') return false
    return this.verifyMode === 'always' || this.caps.headSha !== 'yes' || this.caps.expectedHead === 'rejected'
  }

  private async mutate(
    kind: 'write' | 'delete',
    path: string,
    options: WriteOptions,
    content?: Uint8Array,
  ): Promise<WriteResult> {
    const branch = options.branch ?? ''
    const expectedHead = options.expectedHead ?? ''
    const procedure = kind === 'write' ? WRITE_FILE : DELETE_FILE
    if (kind === 'delete' && this.caps.deleteFile === 'no') throw unimplemented(procedure)
    const verify = this.shouldVerify(expectedHead)

    if (verify) {
      // Optimistic pre-check: cheap, refuses the common stale case before
      // anything is written. It cannot close the race; the parent check can.
      const head = await this.headOf(branch)
      if (head !== expectedHead) {
        throw new StaleHeadError(
          `githosted ${procedure} refused by client pre-check: ` +
            `${this.ref}@${branch || '(default)'} is at ${head}, expected ${expectedHead}`,
          { connectCode: 'failed_precondition', procedure },
          { repoId: this.ref, ref: branch, expectedHead, actualHead: head },
        )
      }
    }

    const res = await this.sendReconciled({ kind, path, branch, expectedHead, options, content })
    // Re-asked: the send may just have learned that the server refuses expectedHead.
    if (verify || this.shouldVerify(expectedHead)) await this.verifyParent(procedure, path, res.branch || branch, expectedHead, res.commit)
    return { branch: res.branch, commit: res.commit }
  }

  /** One request on the wire; `expectedHead` is left out where the server refuses the field. */
  private send({ kind, path, branch, expectedHead, options, content }: Mutation): Promise<WriteResult> {
    const common = {
      repoRef: this.ref,
      branch,
      path,
      message: options.message,
      authorName: options.authorName ?? '',
      authorEmail: options.authorEmail ?? '',
      ...(this.caps.expectedHead === 'rejected' ? {} : { expectedHead }),
    }
    const result = (res: JsonReader<WriteFileResponseJson | DeleteFileResponseJson>) => ({
      branch: res.string('branch'),
      commit: res.string('commit'),
    })
    // 'write': never resent by the retry layer once it may have reached the server.
    return kind === 'write'
      ? this.rpc(WRITE_FILE, { ...common, content: encodeBase64(content ?? EMPTY) }, result, 'write')
      : this.rpc(DELETE_FILE, common, result, 'write')
  }

  /**
   * Sends the write and makes sure its outcome is known:
   * - refused because `expectedHead` is an unknown field: remembered, and
   *   sent again without it (nothing landed; the parent check guards it);
   * - `unimplemented` DeleteFile: remembered, so later deletes fail fast;
   * - no answer after the request may have reached the server: the history
   *   is read to find our commit (reconcile.ts). Found: that is the answer.
   *   Not found: sent once more, and a StaleHead or another unknown outcome
   *   on that second try is reconciled the same way.
   */
  private async sendReconciled(m: Mutation): Promise<WriteResult> {
    const { kind, branch, expectedHead } = m
    const procedure = kind === 'write' ? WRITE_FILE : DELETE_FILE
    let resent = false
    let sentWithoutExpectedHead = false
    for (;;) {
      try {
        return await this.send(m)
      } catch (err) {
        if (!(err instanceof GithostedError)) throw err
        // Only a request that carried the field can be refused for it. Concurrent writes may all
        // have carried it before the first refusal was learned: each resends once without it.
        if (expectedHead !== '' && !sentWithoutExpectedHead && isUnknownExpectedHead(err)) {
          this.caps.expectedHead = 'rejected'
          sentWithoutExpectedHead = true
          continue
        }
        if (err instanceof UnimplementedError && kind === 'delete') {
          this.caps.deleteFile = 'no'
          throw err
        }
        if (err instanceof StaleHeadError && this.caps.expectedHead !== 'rejected') {
          this.caps.expectedHead = 'enforced'
          // After a lost answer, a StaleHead may be our own first attempt having landed.
          if (resent) {
            const landed = await this.findOwnCommit(m)
            if (landed) return { branch: branch || landed.branch, commit: landed.commit }
          }
          throw err
        }
        if (!outcomeUnknown(err)) throw err
        const landed = await this.findOwnCommit(m)
        if (landed) return { branch: branch || landed.branch, commit: landed.commit }
        if (resent) {
          throw new GithostedUnavailableError(
            `githosted ${procedure} failed twice without an answer and its commit is not in the history; ` +
              'nothing was written as far as can be seen',
            { connectCode: 'unavailable', procedure, cause: err },
          )
        }
        resent = true
      }
    }
  }

  /** Our commit, if the write landed (see reconcile.ts). */
  private async findOwnCommit({ kind, path, branch, expectedHead, options, content }: Mutation): Promise<{ branch: string; commit: string } | undefined> {
    const history = await this.log({ ref: branch, limit: RECONCILE_DEPTH })
    const sha = await findLandedWrite({
      history,
      expectedHead,
      message: options.message,
      contentMatches: async (commit) => {
        try {
          const res = await this.readFile(path, commit)
          return kind === 'write' && bytesEqual(res.content, content ?? EMPTY)
        } catch (err) {
          if (err instanceof NotFoundError) return kind === 'delete'
          throw err
        }
      },
    })
    return sha ? { branch, commit: sha } : undefined
  }

  /** Throws unless `commit` is `expectedHead` itself (no-op write) or its child. */
  private async verifyParent(
    procedure: string,
    path: string,
    branch: string,
    expectedHead: string,
    commit: string,
  ): Promise<void> {
    if (commit === expectedHead) return
    const info = { repoRef: this.ref, branch, path, expectedHead, commit }
    let parent: string
    try {
      parent = await this.rpc(
        LOG,
        { repoRef: this.ref, ref: commit, limit: 2 },
        (res) => res.messages('commits')[1]?.string('hash') ?? '',
        'idempotent',
      )
    } catch (err) {
      const code = err instanceof GithostedError ? err.connectCode : 'unknown'
      throw new ExpectedHeadUnverifiedError(
        { connectCode: code, procedure, cause: err },
        { ...info, actualParent: '' },
      )
    }
    if (parent !== expectedHead) {
      throw new ExpectedHeadViolationError(
        { connectCode: 'failed_precondition', procedure },
        { ...info, actualParent: parent },
      )
    }
  }
}

/** One write or delete as asked for. */
interface Mutation {
  kind: 'write' | 'delete'
  path: string
  branch: string
  expectedHead: string
  options: WriteOptions
  content: Uint8Array | undefined
}

/** A failure after which the write may or may not have happened. */
function outcomeUnknown(err: GithostedError): boolean {
  if (err instanceof GithostedTimeoutError) return true
  if (err instanceof GithostedNetworkError) return err.mayHaveReachedServer
  // An `unavailable` answer can come from a proxy that forwarded the request.
  return err instanceof GithostedUnavailableError
}

function unimplemented(procedure: string): GithostedError {
  return new UnimplementedError(`githosted ${procedure} failed: unimplemented: the server does not implement it`, {
    connectCode: 'unimplemented',
    procedure,
  })
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
