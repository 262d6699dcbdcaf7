import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { Permission, TokenKind } from '../../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import { startLocalGithosted, type LocalGithosted } from '../../../local/githosted/index.js'
import { apiClient, dec, enc, git, looksLikeToken, repoClient } from './support.js'

let dir: string | undefined
let server: LocalGithosted | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('persistence', () => {
  it('keeps repos, commits and tokens across a restart; stores only token digests', async () => {
    dir = await mkdtemp(join(tmpdir(), 'githosted-persist-'))
    server = await startLocalGithosted({ dataDir: dir, seed: true })
    const boot = server.bootstrapToken!
    expect(looksLikeToken('gw', boot)).toBe(true)
    const { token: readToken, record } = await apiClient(server.url, boot).createToken({
      name: 'survivor', kind: TokenKind.REPO, permission: Permission.READ, repoAllowlist: ['deploy-configs'],
    })
    const revoked = await apiClient(server.url, boot).createToken({ name: 'gone', kind: TokenKind.WORKSPACE, permission: Permission.READ })
    await apiClient(server.url, boot).revokeToken({ tokenId: revoked.record!.id })
    const w = await repoClient(server.url, boot).writeFile({
      repoRef: 'deploy-configs', path: 'environments/staging.json', content: enc('{"replicas": 3}\n'), message: 'Scale staging',
    })
    const workspaceId = server.workspaceId
    await server.close()

    const state = await readFile(join(dir, 'state.json'), 'utf8')
    expect(state.includes(boot) || state.includes(readToken)).toBe(false)
    expect(JSON.parse(state).tokens.every((t: { digest: string }) => /^[0-9a-f]{64}$/.test(t.digest))).toBe(true)

    server = await startLocalGithosted({ dataDir: dir, seed: true })
    expect(server.workspaceId).toBe(workspaceId)
    // Re-seeding an existing dir mints a fresh bootstrap token but does not re-seed.
    expect(looksLikeToken('gw', server.bootstrapToken)).toBe(true)
    expect(server.bootstrapToken === boot).toBe(false)
    const r = await repoClient(server.url, readToken).readFile({ repoRef: 'deploy-configs', path: 'environments/staging.json' })
    expect(dec(r.content)).toBe('{"replicas": 3}\n')
    expect(r.headSha).toBe(w.commit)
    await expect(repoClient(server.url, revoked.token).listBranches({ repoRef: 'deploy-configs' }))
      .rejects.toMatchObject({ code: Code.Unauthenticated })
    const tokens = (await apiClient(server.url, boot).listTokens({ pageSize: 100 })).tokens
    expect(tokens.find((t) => t.id === record!.id)?.lastUsedAt).toBeDefined()

    const gitdir = server.repoGitDir('deploy-configs')
    expect(git(gitdir, 'log', '--format=%s|%an', 'main').split('\n')).toEqual([
      'Scale staging|githosted',
      'Seed environments/production.json|githosted-local seed',
      'Seed environments/staging.json|githosted-local seed',
    ])
    expect(git(gitdir, 'fsck', '--strict', '--no-dangling')).toBe('')
  })

  it('does not mint a bootstrap token for an existing dir without seed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'githosted-persist-'))
    server = await startLocalGithosted({ dataDir: dir })
    expect(looksLikeToken('gw', server.bootstrapToken)).toBe(true)
    await server.close()
    server = await startLocalGithosted({ dataDir: dir })
    expect(server.bootstrapToken).toBeUndefined()
  })

  it('rejects tokens when the pepper changes (only digests are stored)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'githosted-persist-'))
    server = await startLocalGithosted({ dataDir: dir, pepper: 'pepper-one' })
    const boot = server.bootstrapToken!
    await server.close()
    server = await startLocalGithosted({ dataDir: dir, pepper: 'pepper-two' })
    await expect(apiClient(server.url, boot).listRepos({})).rejects.toMatchObject({ code: Code.Unauthenticated })
  })

  it('removes its temp data dir on close when none was given', async () => {
    server = await startLocalGithosted()
    const temp = server.dataDir
    await server.close()
    await expect(readFile(join(temp, 'state.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
