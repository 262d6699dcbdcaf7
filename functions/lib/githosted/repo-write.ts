/**
 * The write path of a repo handle (repo.ts): a write or delete whose outcome
 * is known on either kind of server. In order: a pre-check of the head where
 * `expectedHead` may not be enforced; the request, sent again without the
 * field where the server refuses it; a search of the history when the answer
 * was lost (reconcile.ts); and the parent check after the write, which
 * throws ExpectedHeadViolationError when the commit landed on a head the
 * caller never read. One algorithm: each step relies on what the one before
 * it learned about the server.
 */
import { encodeBase64 } from './base64.js'
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
import { GithostedNetworkError } from './network-error.js'
import { RECONCILE_DEPTH, findLandedWrite } from './reconcile.js'
import type { DeleteFileResponseJson, WriteFileResponseJson } from './gen/githosted/v1/repo_pb.js'
import type { JsonReader } from './json-reader.js'
import type { CommitInfo, WriteOptions, WriteResult } from './types.js'
import { LOG, type Rpc, type VerifyMode } from './repo-rpc.js'

const WRITE_FILE = '/githosted.v1.RepoService/WriteFile'
const DELETE_FILE = '/githosted.v1.RepoService/DeleteFile'
const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

/** The reads the write path makes through its handle. */
export interface RepoReads {
  /** The tip commit of `ref` ('' = default branch). */
  headOf(ref: string): Promise<string>
  readFile(path: string, ref: string): Promise<{ content: Uint8Array }>
  log(options: { ref?: string; limit?: number }): Promise<CommitInfo[]>
}

export class RepoWrites {
  constructor(
    private readonly ref: string,
    private readonly rpc: Rpc,
    private readonly caps: ServerCapabilities,
    private readonly verifyMode: VerifyMode,
    private readonly reads: RepoReads,
  ) {}

  write(path: string, content: string | Uint8Array, options: WriteOptions): Promise<WriteResult> {
    const bytes = typeof content === 'string' ? encoder.encode(content) : content
    return this.mutate('write', path, options, bytes)
  }

  delete(path: string, options: WriteOptions): Promise<WriteResult> {
    return this.mutate('delete', path, options)
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
      const head = await this.reads.headOf(branch)
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
    const history = await this.reads.log({ ref: branch, limit: RECONCILE_DEPTH })
    const sha = await findLandedWrite({
      history,
      expectedHead,
      message: options.message,
      contentMatches: async (commit) => {
        try {
          const res = await this.reads.readFile(path, commit)
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
