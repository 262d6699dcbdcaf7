/**
 * Where `npm start` gets its githosted: the local server in a profile (the
 * default), or an external one (`--githosted-url URL --workspace-token-file
 * FILE`), in which case no local githosted is started and the broker runs
 * against that server with the workspace token read from the file.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLocalGithosted, type ProfileName } from './githosted/index.js'
import { ensurePipeline } from './pipeline-seed.js'

export interface GithostedSource {
  url: string
  /** The write gw_ the broker mints with. Never print it. */
  workspaceToken: string
  /** Where repos live, for the banner. */
  where: string
  /** The local profile, or 'external'. */
  kind: ProfileName | 'external'
  close(): Promise<void>
}

export interface GithostedSourceOptions {
  githostedUrl?: string
  workspaceTokenFile?: string
  dataDir: string
  port: number
  profile: ProfileName
}

/** Opens the githosted `npm start` uses; throws with a usage-level message on bad options. */
export async function openGithosted(o: GithostedSourceOptions): Promise<GithostedSource> {
  if (o.githostedUrl === undefined) {
    if (o.workspaceTokenFile !== undefined) throw new Error('--workspace-token-file goes with --githosted-url')
    const gh = await startLocalGithosted({ dataDir: join(o.dataDir, 'githosted'), port: o.port, seed: true, profile: o.profile })
    if (!gh.bootstrapToken) throw new Error('local githosted returned no bootstrap token')
    await ensurePipeline(gh.url, gh.bootstrapToken)
    return { url: gh.url, workspaceToken: gh.bootstrapToken, where: `repos and tokens in ${join(o.dataDir, 'githosted')}`, kind: o.profile, close: () => gh.close() }
  }
  let url: URL
  try {
    url = new URL(o.githostedUrl)
  } catch {
    throw new Error(`--githosted-url is not a URL: ${JSON.stringify(o.githostedUrl.slice(0, 100))}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--githosted-url must be http:// or https://')
  if (o.workspaceTokenFile === undefined) throw new Error('--githosted-url needs --workspace-token-file FILE (a write gw_ token)')
  let token: string
  try {
    token = readFileSync(o.workspaceTokenFile, 'utf8').trim()
  } catch (err) {
    throw new Error(`cannot read --workspace-token-file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (token === '' || /\s/.test(token)) throw new Error('--workspace-token-file must hold one token and nothing else')
  return { url: url.origin + url.pathname.replace(/\/+$/, ''), workspaceToken: token, where: 'external server; check it first with npm run doctor', kind: 'external', close: async () => {} }
}
