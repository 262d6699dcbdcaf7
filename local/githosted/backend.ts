import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Code, ConnectError } from '@connectrpc/connect'
import {
  invalidArgument,
  notFound,
  permissionDenied,
  repoBusy,
  staleHead,
  unauthenticated,
} from './errors.js'
import type { Faults } from './faults.js'
import { PROFILES, type ServerProfile } from './profiles.js'
import { GitRepo, type CommitInfo, type Identity } from './git-repo.js'
import { newRepoId } from './ids.js'
import { TimedMutex } from './lock.js'
import { checkBranchName, parseFilePath } from './paths.js'
import type { RepoRecord, State, StateFile, StoredToken } from './state.js'
import { TokenStore, tokenFromAuthorization } from './tokens.js'

/** Used when a write names no author (githosted's own default is undocumented). */
export const DEFAULT_AUTHOR: Identity = { name: 'githosted', email: 'noreply@githosted.local' }

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,99})*$/
const SHA = /^[0-9a-f]{40}$/

export interface WriteInput {
  workspaceRef: string
  repoRef: string
  branch: string
  path: string
  /** null deletes the file. */
  content: Uint8Array | null
  message: string
  authorName: string
  authorEmail: string
  expectedHead: string
}

/**
 * The local githosted's domain logic, independent of the wire: tokens and
 * their scoping, repo metadata, and serialized git writes with the
 * expectedHead check and the ref update done atomically under the repo lease.
 */
export class Backend {
  readonly tokens: TokenStore
  private readonly gitRepos = new Map<string, GitRepo>()
  private readonly locks = new Map<string, TimedMutex>()

  constructor(
    readonly state: State,
    private readonly stateFile: StateFile,
    pepper: string,
    private readonly dataDir: string,
    readonly faults: Faults,
    readonly now: () => Date,
    public profile: ServerProfile = PROFILES.documented,
  ) {
    this.tokens = new TokenStore(state.tokens, pepper, now)
  }

  /** Whether the server behaves without our extensions (no headSha, expectedHead ignored, no Log message). */
  get compat(): boolean {
    return !this.profile.extensions
  }

  /** Persists state now. */
  save(): Promise<void> {
    return this.stateFile.save()
  }

  // ---- authentication and scoping -------------------------------------------------------------

  /** The caller's token record, from the Authorization header; unauthenticated otherwise. */
  authenticate(authorization: string | null): StoredToken {
    const secret = tokenFromAuthorization(authorization)
    if (!secret) throw unauthenticated('missing Authorization header (Bearer gw_… or gr_…)')
    const record = this.tokens.verify(secret)
    this.stateFile.saveSoon()
    return record
  }

  /** Control-plane calls and repo creation need a workspace (gw_) token with write permission. */
  requireWorkspaceWriter(token: StoredToken, what: string): void {
    if (token.kind !== 'workspace') throw permissionDenied(`${what} needs a workspace (gw_) token`)
    if (token.permission !== 'write') throw permissionDenied(`${what} needs a token with write permission`)
  }

  /** A non-empty workspace_ref must name the token's own workspace. */
  checkWorkspaceRef(token: StoredToken, workspaceRef: string): void {
    const ws = this.state.workspace
    if (workspaceRef !== '' && workspaceRef !== ws.id && workspaceRef !== ws.slug) {
      throw permissionDenied(`token has no access to workspace ${JSON.stringify(workspaceRef)}`)
    }
    if (token.workspaceId !== ws.id) throw permissionDenied('token belongs to another workspace')
  }

  findRepo(ref: string): RepoRecord | undefined {
    return this.state.repos.find((r) => r.id === ref || r.slug === ref)
  }

  /**
   * Resolves repo_ref (slug or rp_ id) for a caller needing `need`. Allowlist
   * before existence, so a repo token cannot probe which repos exist.
   */
  repoFor(
    token: StoredToken,
    workspaceRef: string,
    repoRef: string,
    need: 'read' | 'write',
  ): { record: RepoRecord; git: GitRepo } {
    this.checkWorkspaceRef(token, workspaceRef)
    if (repoRef === '') throw invalidArgument('repoRef', 'must not be empty')
    const record = this.findRepo(repoRef)
    if (token.kind === 'repo') {
      const allowed = token.repoAllowlist.some(
        (a) => a === repoRef || (record !== undefined && (a === record.id || a === record.slug)),
      )
      if (!allowed) throw permissionDenied(`token is not allowed to access repo ${JSON.stringify(repoRef)}`)
    }
    if (!record) throw notFound(`repo ${JSON.stringify(repoRef)} not found`)
    if (need === 'write' && token.permission !== 'write') {
      throw permissionDenied('token is read-only; writing needs write permission')
    }
    return { record, git: this.gitRepo(record) }
  }

  private gitRepo(record: RepoRecord): GitRepo {
    let repo = this.gitRepos.get(record.id)
    if (!repo) {
      repo = new GitRepo(this.gitdir(record.id), record.defaultBranch)
      this.gitRepos.set(record.id, repo)
    }
    return repo
  }

  gitdir(repoId: string): string {
    return join(this.dataDir, 'repos', `${repoId}.git`)
  }

  // ---- repos ----------------------------------------------------------------------------------

  /** Creates a repo (slug = name when omitted) with an empty bare git repository. */
  async createRepo(name: string, slug: string): Promise<RepoRecord> {
    const trimmed = name.trim()
    if (trimmed === '') throw invalidArgument('name', 'must not be empty')
    if (trimmed.length > 100) throw invalidArgument('name', 'longer than 100 characters')
    const finalSlug = slug === '' ? trimmed : slug
    if (!SLUG.test(finalSlug) || finalSlug.split('/').some((s) => s === '..' || s === '.git')) {
      const shown = JSON.stringify(finalSlug.slice(0, 100))
      throw invalidArgument(
        slug === '' ? 'name' : 'slug',
        `not a valid slug (letters, digits, ".", "_", "-", "/"): ${shown}`,
      )
    }
    if (finalSlug.startsWith('rp_')) {
      throw invalidArgument('slug', 'must not start with "rp_" (reserved for ids)')
    }
    if (this.findRepo(finalSlug)) {
      const shown = JSON.stringify(finalSlug)
      throw new ConnectError(`a repo with slug ${shown} already exists`, Code.AlreadyExists)
    }
    const record: RepoRecord = {
      id: newRepoId(),
      workspaceId: this.state.workspace.id,
      name: trimmed,
      slug: finalSlug,
      defaultBranch: 'main',
      createdAt: this.now().toISOString(),
    }
    // Claimed synchronously, before any await, so a concurrent duplicate sees it.
    this.state.repos.push(record)
    try {
      this.gitRepos.set(record.id, await GitRepo.init(this.gitdir(record.id), record.defaultBranch))
      await this.save()
    } catch (err) {
      this.state.repos = this.state.repos.filter((r) => r !== record)
      throw err
    }
    return record
  }

  async deleteRepo(record: RepoRecord): Promise<void> {
    this.state.repos = this.state.repos.filter((r) => r.id !== record.id)
    this.gitRepos.delete(record.id)
    this.locks.delete(record.id)
    await this.save()
    await rm(this.gitdir(record.id), { recursive: true, force: true })
  }

  // ---- writes ---------------------------------------------------------------------------------

  /**
   * One commit on a branch. Under the repo lease: read the tip, check
   * expectedHead (unless compat), write the commit, move the ref.
   */
  async write(
    token: StoredToken,
    input: WriteInput,
    operation: string,
  ): Promise<{ branch: string; commit: string }> {
    const segments = parseFilePath('path', input.path)
    if (input.branch !== '') checkBranchName('branch', input.branch)
    const expectedHead = input.expectedHead.toLowerCase()
    if (expectedHead !== '' && !SHA.test(expectedHead)) {
      throw invalidArgument('expectedHead', 'must be a full 40-hex commit SHA')
    }
    const { record, git } = this.repoFor(token, input.workspaceRef, input.repoRef, 'write')
    const branch = input.branch || record.defaultBranch
    if (this.faults.takeForcedBusy()) throw repoBusy(record.id, 'write_file')

    const lock = this.lockFor(record.id)
    const release = await lock.acquire(operation, this.faults.lockWaitMs)
    if (!release) throw repoBusy(record.id, lock.holderOperation || 'write_file')
    try {
      if (this.faults.holdWriteMs > 0) await new Promise((r) => setTimeout(r, this.faults.holdWriteMs))
      const tip = await git.branchTip(branch)
      if (!this.compat && expectedHead !== '' && expectedHead !== tip) {
        throw staleHead({ repoId: record.id, ref: branch, expectedHead, actualHead: tip ?? '' })
      }
      // A write to a new branch forks it from the default branch.
      const parent =
        tip ??
        (branch === record.defaultBranch ? undefined : await git.branchTip(record.defaultBranch))
      const verb = input.content === null ? 'Delete' : 'Update'
      const commit = await git.commitChange({
        parent,
        change: { segments, content: input.content },
        message: input.message.trim() === '' ? `${verb} ${input.path}` : input.message,
        author: {
          name: input.authorName.trim() || DEFAULT_AUTHOR.name,
          email: input.authorEmail.trim() || DEFAULT_AUTHOR.email,
        },
        when: this.now(),
      })
      await git.setBranch(branch, commit)
      return { branch, commit }
    } finally {
      release()
    }
  }

  private lockFor(repoId: string): TimedMutex {
    let lock = this.locks.get(repoId)
    if (!lock) {
      lock = new TimedMutex()
      this.locks.set(repoId, lock)
    }
    return lock
  }

  /** Commits newest first, for Log. */
  async log(git: GitRepo, ref: string, path: string[] | undefined, limit: number): Promise<CommitInfo[]> {
    return git.log(await git.resolveCommit('ref', ref), path, limit)
  }
}
