import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export interface WorkspaceRecord {
  id: string
  organizationId: string
  name: string
  slug: string
  createdAt: string
}

export interface RepoRecord {
  id: string
  workspaceId: string
  name: string
  slug: string
  defaultBranch: string
  createdAt: string
}

export type TokenKindName = 'workspace' | 'repo'
export type PermissionName = 'read' | 'write'

/** A stored token: the HMAC digest of the secret, never the secret itself. */
export interface StoredToken {
  id: string
  digest: string
  kind: TokenKindName
  permission: PermissionName
  name: string
  workspaceId: string
  organizationId: string
  repoAllowlist: string[]
  createdAt: string
  expiresAt?: string
  revokedAt?: string
  lastUsedAt?: string
  createdByName?: string
  createdByTokenPrefix?: string
  /** ExchangeToken's audit subject; kept server-side only, as githosted says. */
  subject?: string
  parentTokenId?: string
}

export interface State {
  version: 1
  workspace: WorkspaceRecord
  repos: RepoRecord[]
  tokens: StoredToken[]
}

const STATE_FILE = 'state.json'

/**
 * The server's metadata (workspace, repos, token digests) as one JSON file in
 * the data dir. Every save writes a temp file and renames it over the old one,
 * so a crash leaves either the old or the new state, never half of one.
 */
export class StateFile {
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly dataDir: string,
    private readonly state: () => State,
  ) {}

  static async load(dataDir: string): Promise<State | undefined> {
    let text: string
    try {
      text = await readFile(join(dataDir, STATE_FILE), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    const parsed = JSON.parse(text) as State
    if (parsed.version !== 1) throw new Error(`unsupported state version in ${dataDir}`)
    return parsed
  }

  /** Persists now (after any write already in flight); resolves once on disk. */
  save(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const text = `${JSON.stringify(this.state(), null, 2)}\n`
    const next = this.chain.then(() => this.writeAtomic(text))
    this.chain = next.catch(() => undefined)
    return next
  }

  /** Persists soon; for bookkeeping such as lastUsedAt that need not block a request. */
  saveSoon(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.save().catch((err: unknown) => {
        console.error(`githosted-local: could not persist state: ${String(err)}`)
      })
    }, 200)
    this.timer.unref()
  }

  /** Writes any scheduled save and waits for all writes. */
  async flush(): Promise<void> {
    if (this.timer) await this.save()
    await this.chain
  }

  private async writeAtomic(text: string): Promise<void> {
    const target = join(this.dataDir, STATE_FILE)
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await writeFile(temp, text, { mode: 0o600 })
      await rename(temp, target)
    } catch (err) {
      await unlink(temp).catch(() => undefined)
      throw err
    }
  }
}
