import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { timestampDate } from '@bufbuild/protobuf/wkt'
import { Permission, TokenKind } from '../../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { apiClient, enc, rawCall, repoClient } from './support.js'

let server: TestGithosted
let clock = new Date('2030-01-01T00:00:00Z').getTime()

beforeAll(async () => {
  server = await startTestGithosted({ now: () => new Date(clock) })
  await repoClient(server.url, server.bootstrapToken).createRepo({ name: 'other-repo' })
})

afterAll(async () => {
  await server?.close()
})

const read = (token: string, repoRef: string) =>
  repoClient(server.url, token).readFile({ repoRef, path: 'environments/staging.json' })

describe('authentication', () => {
  it('rejects a missing, malformed or unknown token with unauthenticated', async () => {
    const none = await rawCall(server.url, '/githosted.v1.RepoService/ListBranches', '{"repoRef":"deploy-configs"}')
    expect(none.status).toBe(401)
    expect(none.json.code).toBe('unauthenticated')
    await expect(read('not-a-token', 'deploy-configs')).rejects.toMatchObject({ code: Code.Unauthenticated })
    await expect(read(`gw_${'x'.repeat(40)}`, 'deploy-configs')).rejects.toMatchObject({ code: Code.Unauthenticated })
  })

  it('accepts Basic auth with the token as password (any user name)', async () => {
    const basic = Buffer.from(`anyone:${server.bootstrapToken}`).toString('base64')
    const res = await fetch(`${server.url}/githosted.v1.RepoService/ListBranches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${basic}` },
      body: '{"repoRef":"deploy-configs"}',
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { branches: unknown[] }).branches).toHaveLength(1)
  })

  it('rejects a revoked token', async () => {
    const api = apiClient(server.url, server.bootstrapToken)
    const { token, record } = await api.createToken({ name: 'to-revoke', kind: TokenKind.WORKSPACE, permission: Permission.READ })
    expect((await read(token, 'deploy-configs')).content.length).toBeGreaterThan(0)
    await api.revokeToken({ tokenId: record!.id })
    await expect(read(token, 'deploy-configs')).rejects.toMatchObject({ code: Code.Unauthenticated, rawMessage: 'token has been revoked' })
  })

  it('rejects an expired token (exchange TTL, injected clock)', async () => {
    const { token } = await apiClient(server.url, server.bootstrapToken).exchangeToken({
      repoAllowlist: ['deploy-configs'], ttlSeconds: 60,
    })
    expect((await read(token, 'deploy-configs')).content.length).toBeGreaterThan(0)
    clock += 61_000
    await expect(read(token, 'deploy-configs')).rejects.toMatchObject({ code: Code.Unauthenticated, rawMessage: 'token has expired' })
  })

  it('stamps lastUsedAt', async () => {
    const api = apiClient(server.url, server.bootstrapToken)
    const { token, record } = await api.createToken({ name: 'used', kind: TokenKind.WORKSPACE, permission: Permission.READ })
    expect(record?.lastUsedAt).toBeUndefined()
    clock += 5_000
    await read(token, 'deploy-configs')
    const listed = (await api.listTokens({ pageSize: 100 })).tokens.find((t) => t.id === record!.id)
    expect(timestampDate(listed!.lastUsedAt!).getTime()).toBe(clock)
  })
})

describe('scoping', () => {
  it('denies a gr_ for repo A on repo B, and a read token writing', async () => {
    const api = apiClient(server.url, server.bootstrapToken)
    const { token } = await api.createToken({
      name: 'a-only', kind: TokenKind.REPO, permission: Permission.READ, repoAllowlist: ['deploy-configs'],
    })
    expect((await read(token, 'deploy-configs')).content.length).toBeGreaterThan(0)
    await expect(read(token, 'other-repo')).rejects.toMatchObject({ code: Code.PermissionDenied })
    // Not allowlisted: denied even if the repo does not exist, so a repo token cannot probe.
    await expect(read(token, 'does-not-exist')).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(
      repoClient(server.url, token).writeFile({ repoRef: 'deploy-configs', path: 'x', content: enc('x') }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied })
    const gwRead = await api.createToken({ name: 'ws-read', kind: TokenKind.WORKSPACE, permission: Permission.READ })
    await expect(
      repoClient(server.url, gwRead.token).writeFile({ repoRef: 'deploy-configs', path: 'x', content: enc('x') }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(apiClient(server.url, gwRead.token).createToken({
      name: 'n', kind: TokenKind.WORKSPACE, permission: Permission.READ,
    })).rejects.toMatchObject({ code: Code.PermissionDenied })
    expect((await apiClient(server.url, gwRead.token).listRepos({})).repos.length).toBe(2)
  })

  it('honours an allowlist entry given as an rp_ id', async () => {
    const repos = (await apiClient(server.url, server.bootstrapToken).listRepos({})).repos
    const id = repos.find((r) => r.slug === 'deploy-configs')!.id
    const { token } = await apiClient(server.url, server.bootstrapToken).exchangeToken({
      repoAllowlist: [id], permission: Permission.WRITE,
    })
    expect((await read(token, 'deploy-configs')).content.length).toBeGreaterThan(0)
    const w = await repoClient(server.url, token).writeFile({ repoRef: 'deploy-configs', path: 'gr-write.txt', content: enc('ok') })
    expect(w.commit).toMatch(/^[0-9a-f]{40}$/)
    await expect(read(token, 'other-repo')).rejects.toMatchObject({ code: Code.PermissionDenied })
  })

  it('lets a gr_ never mint, list tokens, list repos or create repos', async () => {
    const { token } = await apiClient(server.url, server.bootstrapToken).createToken({
      name: 'repo-writer', kind: TokenKind.REPO, permission: Permission.WRITE, repoAllowlist: ['deploy-configs'],
    })
    const api = apiClient(server.url, token)
    await expect(api.createToken({ name: 'x', kind: TokenKind.REPO, permission: Permission.READ, repoAllowlist: ['deploy-configs'] }))
      .rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(api.exchangeToken({ repoAllowlist: ['deploy-configs'] })).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(api.listTokens({})).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(api.revokeToken({ tokenId: 'tok_x' })).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(api.listRepos({})).rejects.toMatchObject({ code: Code.PermissionDenied })
    await expect(repoClient(server.url, token).createRepo({ name: 'nope' })).rejects.toMatchObject({ code: Code.PermissionDenied })
  })

  it('clamps exchange TTL to 24 h, defaults to 1 h, and requires an allowlist', async () => {
    const api = apiClient(server.url, server.bootstrapToken)
    const long = await api.exchangeToken({ repoAllowlist: ['deploy-configs'], ttlSeconds: 7 * 24 * 3600 })
    const ttl = (r: typeof long) => timestampDate(r.record!.expiresAt!).getTime() - timestampDate(r.record!.createdAt!).getTime()
    expect(ttl(long)).toBe(24 * 3600_000)
    expect(ttl(await api.exchangeToken({ repoAllowlist: ['deploy-configs'] }))).toBe(3600_000)
    await expect(api.exchangeToken({ repoAllowlist: [] })).rejects.toMatchObject({ code: Code.InvalidArgument })
  })

  it('never lets an exchanged token outlive its parent', async () => {
    const parent = await apiClient(server.url, server.bootstrapToken).createToken({
      name: 'short-parent', kind: TokenKind.WORKSPACE, permission: Permission.WRITE, ttlHours: 1,
    })
    const child = await apiClient(server.url, parent.token).exchangeToken({ repoAllowlist: ['deploy-configs'], ttlSeconds: 86_400 })
    expect(timestampDate(child.record!.expiresAt!).getTime()).toBe(timestampDate(parent.record!.expiresAt!).getTime())
  })

  it('validates CreateToken input', async () => {
    const api = apiClient(server.url, server.bootstrapToken)
    await expect(api.createToken({ name: '', kind: TokenKind.WORKSPACE, permission: Permission.READ })).rejects.toMatchObject({ code: Code.InvalidArgument })
    await expect(api.createToken({ name: 'r', kind: TokenKind.REPO, permission: Permission.READ })).rejects.toMatchObject({ code: Code.InvalidArgument })
    await expect(api.createToken({ name: 'w', kind: TokenKind.WORKSPACE, permission: Permission.READ, repoAllowlist: ['x'] })).rejects.toMatchObject({ code: Code.InvalidArgument })
    await expect(api.createToken({ name: 'p', kind: TokenKind.WORKSPACE })).rejects.toMatchObject({ code: Code.InvalidArgument })
  })

  it('refuses a workspace_ref naming another workspace', async () => {
    await expect(apiClient(server.url, server.bootstrapToken).listRepos({ workspaceRef: 'ws_someoneelse' }))
      .rejects.toMatchObject({ code: Code.PermissionDenied })
    expect((await apiClient(server.url, server.bootstrapToken).listRepos({ workspaceRef: server.workspaceId })).repos.length).toBe(2)
  })
})
