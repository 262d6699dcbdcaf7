import * as fs from 'node:fs'
import git from 'isomorphic-git'
import type { CommitObject, TreeEntry } from 'isomorphic-git'
import { failedPrecondition, invalidArgument, notFound } from './errors.js'
import { parseRevision } from './paths.js'

/** A commit as the Log RPC reports it. */
export interface CommitInfo {
  hash: string
  authorName: string
  authorEmail: string
  committedAt: Date
  subject: string
  message: string
}

export interface Identity {
  name: string
  email: string
}

/** A change to one path; `content: null` deletes the file. */
export interface FileChange {
  segments: string[]
  content: Uint8Array | null
}

const HEX_PREFIX = /^[0-9a-f]{4,40}$/i
const CACHE_MAX_ENTRIES = 10_000
const BLOB_CACHE_MAX_BYTES = 64 * 1024

/**
 * Git objects are immutable, so parsed commits, trees and small blobs are
 * cached by id: isomorphic-git inflates and hashes every loose object on each
 * read (about 1-2 ms apiece), which made Log with a path filter take seconds.
 */
class ObjectCache<T> {
  private readonly map = new Map<string, T>()

  get(oid: string): T | undefined {
    return this.map.get(oid)
  }

  set(oid: string, value: T): void {
    // Crude bound: a local test server never needs an LRU.
    if (this.map.size >= CACHE_MAX_ENTRIES) this.map.clear()
    this.map.set(oid, value)
  }
}

/**
 * One bare git repository on disk, read and written in-process with
 * isomorphic-git (no subprocess per call). Not concurrency-safe for writes:
 * callers serialize commits through the repo's lease.
 */
export class GitRepo {
  private readonly commits = new ObjectCache<CommitObject>()
  private readonly trees = new ObjectCache<readonly TreeEntry[]>()
  private readonly blobs = new ObjectCache<Uint8Array>()

  constructor(
    readonly gitdir: string,
    readonly defaultBranch: string,
  ) {}

  /** Creates the bare repository with HEAD pointing at the (unborn) default branch. */
  static async init(gitdir: string, defaultBranch: string): Promise<GitRepo> {
    await git.init({ fs, gitdir, bare: true, defaultBranch })
    return new GitRepo(gitdir, defaultBranch)
  }

  /** The branch's tip, or undefined while the branch has no commits. */
  async branchTip(branch: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${branch}` })
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) return undefined
      throw err
    }
  }

  /**
   * Resolves a revision ("" = default branch, HEAD, branch, full or abbreviated
   * SHA, each optionally followed by `~N`/`^`) to a commit id; not_found otherwise.
   */
  async resolveCommit(field: string, rev: string): Promise<string> {
    const { base, back } = parseRevision(field, rev === '' ? this.defaultBranch : rev)
    let oid = await this.resolveBase(field, base)
    for (let i = 0; i < back; i++) {
      const parent = (await this.readCommit(oid)).parent[0]
      if (!parent) throw notFound(`${field}: revision ${rev} is beyond the first commit`)
      oid = parent
    }
    await this.readCommit(oid)
    return oid
  }

  private async resolveBase(field: string, base: string): Promise<string> {
    const name = base === 'HEAD' ? this.defaultBranch : base
    const tip = await this.branchTip(name)
    if (tip) return tip
    if (base !== 'HEAD' && HEX_PREFIX.test(base)) {
      try {
        return await git.expandOid({ fs, gitdir: this.gitdir, oid: base.toLowerCase() })
      } catch (err) {
        if (isGitError(err, 'AmbiguousError')) {
          throw invalidArgument(field, `abbreviated SHA ${base} is ambiguous`)
        }
        if (!isGitError(err, 'NotFoundError')) throw err
      }
    }
    if (name === this.defaultBranch && (await this.listBranches()).length === 0) {
      throw notFound('the repository has no commits yet')
    }
    throw notFound(`${field}: no branch or commit named ${JSON.stringify(base)}`)
  }

  private async readCommit(oid: string): Promise<CommitObject> {
    const cached = this.commits.get(oid)
    if (cached) return cached
    try {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid })
      this.commits.set(oid, commit)
      return commit
    } catch (err) {
      if (isGitError(err, 'NotFoundError') || isGitError(err, 'ObjectTypeError')) {
        throw notFound(`${oid} is not a commit`)
      }
      throw err
    }
  }

  /** A copy of the tree's entries (callers may edit it). */
  private async treeEntries(treeOid: string): Promise<TreeEntry[]> {
    let entries = this.trees.get(treeOid)
    if (!entries) {
      entries = (await git.readTree({ fs, gitdir: this.gitdir, oid: treeOid })).tree
      this.trees.set(treeOid, entries)
    }
    return entries.map((e) => ({ ...e }))
  }

  private async readBlob(oid: string): Promise<Uint8Array> {
    const cached = this.blobs.get(oid)
    if (cached) return cached.slice()
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid })
    if (blob.length <= BLOB_CACHE_MAX_BYTES) this.blobs.set(oid, blob.slice())
    return blob
  }

  /** The tree entry at `segments` under `treeOid`; the root tree for []. */
  private async entryAt(treeOid: string, segments: string[]): Promise<TreeEntry | undefined> {
    let current: TreeEntry = { mode: '040000', path: '', oid: treeOid, type: 'tree' }
    for (const segment of segments) {
      if (current.type !== 'tree') return undefined
      const next = (await this.treeEntries(current.oid)).find((e) => e.path === segment)
      if (!next) return undefined
      current = next
    }
    return current
  }

  /** The file's bytes and blob id at a commit. */
  async readFile(commit: string, segments: string[]): Promise<{ content: Uint8Array; blobOid: string }> {
    const c = await this.readCommit(commit)
    const entry = await this.entryAt(c.tree, segments)
    if (!entry) throw notFound(`no file at ${segments.join('/')} in ${commit.slice(0, 12)}`)
    if (entry.type !== 'blob') throw notFound(`${segments.join('/')} is a directory, not a file`)
    return { content: await this.readBlob(entry.oid), blobOid: entry.oid }
  }

  /** One directory level at a commit, in git's tree order. */
  async listDir(commit: string, segments: string[]): Promise<Array<{ name: string; type: string }>> {
    const c = await this.readCommit(commit)
    const entry = await this.entryAt(c.tree, segments)
    if (!entry) throw notFound(`no directory at ${segments.join('/') || '/'} in ${commit.slice(0, 12)}`)
    if (entry.type !== 'tree') throw notFound(`${segments.join('/')} is a file, not a directory`)
    return (await this.treeEntries(entry.oid)).map((e) => ({
      name: e.path,
      type: e.type === 'tree' ? 'tree' : 'blob',
    }))
  }

  /**
   * Writes one commit applying `change` on top of `parent` (undefined = root
   * commit) and returns its id. Does NOT move any ref: the caller does that
   * under the lease after its expectedHead check.
   */
  async commitChange(opts: {
    parent: string | undefined
    change: FileChange
    message: string
    author: Identity
    when: Date
  }): Promise<string> {
    const baseTree = opts.parent ? (await this.readCommit(opts.parent)).tree : undefined
    const content = opts.change.content
    // Hash first, store last: a write refused by a path conflict leaves no object behind.
    const blobOid = content === null ? null : (await git.hashBlob({ object: content })).oid
    const tree =
      (await this.rewriteTree(baseTree, opts.change.segments, blobOid, opts.change.segments)) ??
      (await git.writeTree({ fs, gitdir: this.gitdir, tree: [] }))
    if (content !== null) await git.writeBlob({ fs, gitdir: this.gitdir, blob: content })
    const person = {
      name: opts.author.name,
      email: opts.author.email,
      timestamp: Math.floor(opts.when.getTime() / 1000),
      timezoneOffset: 0,
    }
    const commit: CommitObject = {
      message: opts.message.endsWith('\n') ? opts.message : `${opts.message}\n`,
      tree,
      parent: opts.parent ? [opts.parent] : [],
      author: person,
      committer: person,
    }
    const oid = await git.writeCommit({ fs, gitdir: this.gitdir, commit })
    this.commits.set(oid, commit)
    return oid
  }

  /** Returns the new tree id, or null when the tree ends up empty (git drops empty trees). */
  private async rewriteTree(
    treeOid: string | undefined,
    segments: string[],
    blobOid: string | null,
    fullPath: string[],
  ): Promise<string | null> {
    const entries = treeOid ? await this.treeEntries(treeOid) : []
    const [name, ...rest] = segments as [string, ...string[]]
    const index = entries.findIndex((e) => e.path === name)
    const existing = index >= 0 ? entries[index] : undefined
    const path = fullPath.join('/')
    let replacement: TreeEntry | undefined
    if (rest.length === 0) {
      if (existing?.type === 'tree') throw failedPrecondition(`${path} is a directory`)
      if (blobOid === null) {
        if (!existing) throw notFound(`no file at ${path}`)
      } else {
        const mode = existing?.mode === '100755' ? '100755' : '100644'
        replacement = { mode, path: name, oid: blobOid, type: 'blob' }
      }
    } else {
      if (existing && existing.type !== 'tree') {
        const prefix = fullPath.slice(0, fullPath.length - rest.length).join('/')
        throw failedPrecondition(`${prefix} is a file, so ${path} cannot exist`)
      }
      if (!existing && blobOid === null) throw notFound(`no file at ${path}`)
      const sub = await this.rewriteTree(existing?.oid, rest, blobOid, fullPath)
      if (sub !== null) replacement = { mode: '040000', path: name, oid: sub, type: 'tree' }
    }
    if (index >= 0) entries.splice(index, 1)
    if (replacement) entries.push(replacement)
    if (entries.length === 0) return null
    const oid = await git.writeTree({ fs, gitdir: this.gitdir, tree: entries })
    // Cache the entries as git stores them (sorted), not in our insertion order.
    this.trees.set(oid, (await git.readTree({ fs, gitdir: this.gitdir, oid })).tree)
    return oid
  }

  /** Points the branch at `commit` (the caller holds the lease and checked the old tip). */
  async setBranch(branch: string, commit: string): Promise<void> {
    await git.writeRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${branch}`, value: commit, force: true })
  }

  /**
   * Commits reachable from `start` by first parents, newest first; with `path`,
   * only those that changed that path (compared with their first parent).
   */
  async log(start: string, path: string[] | undefined, limit: number): Promise<CommitInfo[]> {
    const out: CommitInfo[] = []
    let oid: string | undefined = start
    while (oid && out.length < limit) {
      const commit = await this.readCommit(oid)
      const parent = commit.parent[0]
      if (!path || (await this.changesPath(commit.tree, parent, path))) {
        const message = commit.message.replace(/\n$/, '')
        out.push({
          hash: oid,
          authorName: commit.author.name,
          authorEmail: commit.author.email,
          committedAt: new Date(commit.committer.timestamp * 1000),
          subject: message.split('\n', 1)[0] ?? '',
          message,
        })
      }
      oid = parent
    }
    return out
  }

  private async changesPath(tree: string, parent: string | undefined, path: string[]): Promise<boolean> {
    const mine = (await this.entryAt(tree, path))?.oid
    const before = parent ? (await this.entryAt((await this.readCommit(parent)).tree, path))?.oid : undefined
    return mine !== before
  }

  /** Branch names with their tips. */
  async listBranches(): Promise<Array<{ name: string; commit: string }>> {
    const names = await git.listBranches({ fs, gitdir: this.gitdir })
    const out: Array<{ name: string; commit: string }> = []
    for (const name of names.sort()) {
      const commit = await this.branchTip(name)
      if (commit) out.push({ name, commit })
    }
    return out
  }
}

function isGitError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}
