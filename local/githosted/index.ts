import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Backend } from './backend.js'
import { Faults, type FaultOptions } from './faults.js'
import { createHttpHandler } from './http-handler.js'
import { newOrganizationId, newPepper, newWorkspaceId, seededRandom } from './ids.js'
import { listenDual } from './listener.js'
import { PROFILES, profileNamed, type ProfileName } from './profiles.js'
import { seedRepos } from './seed.js'
import { StateFile, type PermissionName, type State, type TokenKindName } from './state.js'

export type { FaultOptions, InjectedError, ConnectCodeName } from './faults.js'
export { SEED_REPO, SEED_FILES } from './seed.js'
export { DEFAULT_AUTHOR } from './backend.js'
export { PROFILE_NAMES, PROFILES, isProfileName, type ProfileName, type ServerProfile } from './profiles.js'

/** Options of startLocalGithosted. */
export interface LocalGithostedOptions {
  /** Where repos and state live; a temp dir (removed on close) when omitted. */
  dataDir?: string
  /** 0 (default) = a random free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Create `deploy-configs` with two environment files (only in a fresh data dir). */
  seed?: boolean
  /** Which githosted variant to behave as (profiles.ts). Default 'documented'. */
  profile?: ProfileName
  /** Alias of profile 'hosted-today' (profile wins when both are given). */
  compat?: boolean
  faults?: FaultOptions
  /** HMAC pepper for token digests; by default generated once and kept in the data dir. */
  pepper?: string
  /** Injectable clock (token expiry, commit times). */
  now?: () => Date
  /** Seed for the fault-injection random; or pass `random` directly. */
  randomSeed?: number
  random?: () => number
  /** How injected latency waits (tests record it instead of waiting). Default setTimeout. */
  sleep?: (ms: number) => Promise<void>
}

/** Direct token minting for tests (no RPC). */
export interface DirectTokenOptions {
  name?: string
  /** Default 'workspace'. */
  kind?: TokenKindName
  /** Default 'write'. */
  permission?: PermissionName
  repoAllowlist?: string[]
  /** 0/omitted = never expires. */
  ttlSeconds?: number
}

/** A running local githosted. */
export interface LocalGithosted {
  /** e.g. http://127.0.0.1:54321 (serves HTTP/1.1 and h2c). */
  url: string
  port: number
  dataDir: string
  /** A fresh write gw_ token, minted when seeding or on a fresh data dir. Never log it. */
  bootstrapToken?: string
  workspaceId: string
  setFaults(f: FaultOptions): void
  /** Profile 'hosted-today' (true) or 'documented' (false). */
  setCompat(b: boolean): void
  /** Switches the variant at runtime; new HTTP/1.1 connections follow it. */
  setProfile(name: ProfileName): void
  readonly profile: ProfileName
  createToken(opts?: DirectTokenOptions): Promise<string>
  /** RPC calls received so far, per method name (e.g. 'WriteFile'). */
  callCounts(): Record<string, number>
  /** The bare git dir of a repo (slug or rp_ id), for inspection with the git CLI. */
  repoGitDir(repoRef: string): string
  close(): Promise<void>
}

async function loadPepper(dataDir: string, given: string | undefined): Promise<string> {
  if (given) return given
  const file = join(dataDir, 'pepper')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const pepper = newPepper()
    await writeFile(file, `${pepper}\n`, { mode: 0o600 })
    return pepper
  }
}

function freshState(now: Date): State {
  return {
    version: 1,
    workspace: {
      id: newWorkspaceId(),
      organizationId: newOrganizationId(),
      name: 'Local workspace',
      slug: 'local',
      createdAt: now.toISOString(),
    },
    repos: [],
    tokens: [],
  }
}

/**
 * Starts a githosted-compatible Connect server on 127.0.0.1: real bare git
 * repos in `dataDir`, tokens persisted as HMAC digests, fault injection.
 */
export async function startLocalGithosted(opts: LocalGithostedOptions = {}): Promise<LocalGithosted> {
  const now = opts.now ?? (() => new Date())
  const ownsDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'githosted-local-')))
  try {
    await mkdir(join(dataDir, 'repos'), { recursive: true })
    const pepper = await loadPepper(dataDir, opts.pepper)
    const loaded = await StateFile.load(dataDir)
    const state = loaded ?? freshState(now())
    const stateFile = new StateFile(dataDir, () => state)
    const random =
      opts.random ?? (opts.randomSeed !== undefined ? seededRandom(opts.randomSeed) : Math.random)
    const faults = new Faults(undefined, random, opts.sleep)
    const profile = profileNamed(opts.profile ?? (opts.compat ? 'hosted-today' : 'documented'))
    const backend = new Backend(state, stateFile, pepper, dataDir, faults, now, profile)

    let bootstrapToken: string | undefined
    if (opts.seed || !loaded) {
      const { secret, record } = backend.tokens.mint({
        kind: 'workspace',
        permission: 'write',
        name: `bootstrap-${now().toISOString()}`,
        workspace: state.workspace,
        repoAllowlist: [],
      })
      bootstrapToken = secret
      if (opts.seed && !loaded) await seedRepos(backend, record)
    }
    await stateFile.save()
    // Faults apply to client traffic only, not to seeding.
    faults.set(opts.faults ?? {})

    const host = opts.host ?? '127.0.0.1'
    const listener = await listenDual(createHttpHandler(backend), host, opts.port ?? 0, () => backend.profile.http1)
    const urlHost = host.includes(':') ? `[${host}]` : host
    let closed = false

    return {
      url: `http://${urlHost}:${listener.port}`,
      port: listener.port,
      dataDir,
      ...(bootstrapToken ? { bootstrapToken } : {}),
      workspaceId: state.workspace.id,
      setFaults: (f) => faults.set(f),
      setCompat: (b) => {
        backend.profile = b ? PROFILES['hosted-today'] : PROFILES.documented
      },
      setProfile: (name) => {
        backend.profile = profileNamed(name)
      },
      get profile() {
        return backend.profile.name
      },
      createToken: async (o = {}) => {
        const kind = o.kind ?? 'workspace'
        const { secret } = backend.tokens.mint({
          kind,
          permission: o.permission ?? 'write',
          name: o.name ?? 'test',
          workspace: state.workspace,
          repoAllowlist: o.repoAllowlist ?? [],
          ...(o.ttlSeconds ? { ttlMs: o.ttlSeconds * 1000 } : {}),
        })
        await stateFile.save()
        return secret
      },
      callCounts: () => Object.fromEntries(faults.calls),
      repoGitDir: (ref) => {
        const record = backend.findRepo(ref)
        if (!record) throw new Error(`no repo ${ref}`)
        return backend.gitdir(record.id)
      },
      close: async () => {
        if (closed) return
        closed = true
        await listener.close()
        await stateFile.flush()
        if (ownsDir) await rm(dataDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    if (ownsDir) await rm(dataDir, { recursive: true, force: true })
    throw err
  }
}
