/**
 * An in-memory, single-branch githosted for unit tests of the compat logic:
 * linear history, ReadFile/Log/WriteFile/DeleteFile, and two switches that
 * make it behave like either kind of server. `hooks.beforeWrite` lets a test
 * slip a concurrent commit in at exactly the wrong moment.
 */
import { createHash } from 'node:crypto'
import { connectError, fakeConnect, ok, staleHeadDetail, type FakeConnect } from './fake-connect.js'

interface FakeCommit {
  hash: string
  parent: string
  subject: string
  files: Map<string, Buffer>
}

export interface FakeGitOptions {
  /** Return headSha/sha on reads and enforce expectedHead (our extensions). */
  extensions: boolean
}

export class FakeGit {
  readonly commits: FakeCommit[] = []
  readonly hooks: {
    beforeWrite?: () => void
    afterLog?: () => void
    failLog?: (body: Record<string, unknown>) => boolean
  } = {}
  readonly server: FakeConnect

  constructor(private readonly opts: FakeGitOptions) {
    this.commit('init', new Map([['a.json', Buffer.from('{}\n')]]))
    this.server = fakeConnect({
      ReadFile: (b) => this.readFile(b),
      Log: (b) => this.log(b),
      WriteFile: (b) => this.write(b, Buffer.from(String(b.content ?? ''), 'base64')),
      DeleteFile: (b) => this.write(b, undefined),
    })
  }

  get tip(): FakeCommit {
    const c = this.commits[this.commits.length - 1]
    if (!c) throw new Error('empty')
    return c
  }

  /** Appends a commit on the branch (also used by tests as "another writer"). */
  commit(subject: string, files: Map<string, Buffer>): string {
    const parent = this.commits.length ? this.tip.hash : ''
    const hash = createHash('sha1').update(`${parent}:${subject}:${this.commits.length}`).digest('hex')
    this.commits.push({ hash, parent, subject, files })
    return hash
  }

  /** Another writer changes one file. */
  intrude(path: string, content: string): string {
    const files = new Map(this.tip.files)
    files.set(path, Buffer.from(content))
    return this.commit(`intruder ${path}`, files)
  }

  private resolve(ref: unknown): FakeCommit | undefined {
    if (!ref || ref === 'main') return this.tip
    return this.commits.find((c) => c.hash === ref)
  }

  private readFile(b: Record<string, unknown>) {
    const c = this.resolve(b.ref)
    const data = c?.files.get(String(b.path))
    if (!c || !data) return connectError(404, 'not_found', 'no such file')
    const body: Record<string, unknown> = { content: data.toString('base64') }
    if (this.opts.extensions) {
      body.headSha = c.hash
      body.sha = 'server-blob-sha'
    }
    return ok(body)
  }

  private log(b: Record<string, unknown>) {
    if (this.hooks.failLog?.(b)) return connectError(503, 'unavailable', 'log down')
    let c = this.resolve(b.ref)
    const out: Array<{ hash: string; subject: string }> = []
    const limit = Number(b.limit ?? 0) || 100
    while (c && out.length < limit) {
      out.push({ hash: c.hash, subject: c.subject })
      const parent: string = c.parent
      c = this.commits.find((x) => x.hash === parent)
    }
    this.hooks.afterLog?.()
    return ok({ commits: out })
  }

  private write(b: Record<string, unknown>, content: Buffer | undefined) {
    this.hooks.beforeWrite?.()
    const expected = String(b.expectedHead ?? '')
    if (this.opts.extensions && expected && expected !== this.tip.hash) {
      return connectError(400, 'failed_precondition', 'stale', [
        staleHeadDetail({ repoId: 'rp_fake', ref: 'main', expectedHead: expected, actualHead: this.tip.hash }),
      ])
    }
    const files = new Map(this.tip.files)
    if (content === undefined) files.delete(String(b.path))
    else files.set(String(b.path), content)
    const hash = this.commit(String(b.message ?? ''), files)
    return ok({ branch: 'main', commit: hash })
  }
}
