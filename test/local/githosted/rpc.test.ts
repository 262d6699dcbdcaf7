import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Code } from '@connectrpc/connect'
import { timestampDate } from '@bufbuild/protobuf/wkt'
import { Permission, TokenKind } from '../../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { apiClient, dec, enc, git, looksLikeToken, repoClient, VARIANTS } from './support.js'

let server: TestGithosted

beforeAll(async () => {
  server = await startTestGithosted()
})

afterAll(async () => {
  await server?.close()
})

describe('seed', () => {
  it('has deploy-configs with both environment files as 2-space JSON', async () => {
    const c = repoClient(server.url, server.bootstrapToken)
    const staging = JSON.parse(dec((await c.readFile({ repoRef: 'deploy-configs', path: 'environments/staging.json' })).content))
    const prodText = dec((await c.readFile({ repoRef: 'deploy-configs', path: 'environments/production.json' })).content)
    expect(staging.replicas).toBe(1)
    expect(JSON.parse(prodText).replicas).toBe(2)
    expect(prodText).toBe(`${JSON.stringify(JSON.parse(prodText), null, 2)}\n`)
    const log = await c.log({ repoRef: 'deploy-configs' })
    expect(log.commits.every((x) => x.authorName === 'githosted-local seed')).toBe(true)
    expect(server.workspaceId).toMatch(/^ws_[0-9a-z]{20}$/)
  })
})

describe.each(VARIANTS)('RepoService over $name', (variant) => {
  const slug = `rpc-${variant.httpVersion.replace('.', '')}-${variant.useBinaryFormat ? 'bin' : 'json'}`
  const repo = () => repoClient(server.url, server.bootstrapToken, variant)

  it('creates a repo (slug = name), refuses a duplicate, and lists it', async () => {
    const { repo: created } = await repo().createRepo({ name: slug })
    expect(created?.slug).toBe(slug)
    expect(created?.id).toMatch(/^rp_[0-9a-z]{20}$/)
    expect(created?.defaultBranch).toBe('main')
    expect(created?.workspaceId).toBe(server.workspaceId)
    await expect(repo().createRepo({ name: 'other', slug })).rejects.toMatchObject({ code: Code.AlreadyExists })
    const listed = await apiClient(server.url, server.bootstrapToken, variant).listRepos({})
    expect(listed.repos.map((r) => r.slug)).toContain(slug)
  })

  it('gives not_found for reads of a repo with no commits, then writes the root commit', async () => {
    await expect(repo().readFile({ repoRef: slug, path: 'x.txt' })).rejects.toMatchObject({ code: Code.NotFound })
    await expect(repo().listFiles({ repoRef: slug })).rejects.toMatchObject({ code: Code.NotFound })
    expect((await repo().listBranches({ repoRef: slug })).branches).toEqual([])
    const w = await repo().writeFile({ repoRef: slug, path: 'README.md', content: enc('hello\n'), message: 'first' })
    expect(w.branch).toBe('main')
    expect(w.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(git(server.repoGitDir(slug), 'rev-parse', 'main')).toBe(w.commit)
    expect(git(server.repoGitDir(slug), 'rev-list', '--count', 'main')).toBe('1')
  })

  it('reads at any ref with headSha and blob sha', async () => {
    const first = await repo().writeFile({
      repoRef: slug, path: 'config/app.json', content: enc('{"v": 1}\n'), message: 'v1',
      authorName: 'Ada', authorEmail: 'ada@example.com',
    })
    const second = await repo().writeFile({ repoRef: slug, path: 'config/app.json', content: enc('{"v": 2}\n') })
    const gitdir = server.repoGitDir(slug)
    for (const ref of ['', 'HEAD', 'main', second.commit, second.commit.slice(0, 7)]) {
      const r = await repo().readFile({ repoRef: slug, path: 'config/app.json', ref })
      expect(dec(r.content)).toBe('{"v": 2}\n')
      expect(r.headSha).toBe(second.commit)
      expect(r.sha).toBe(git(gitdir, 'rev-parse', `${second.commit}:config/app.json`))
    }
    for (const ref of [first.commit, 'HEAD~1', 'main^']) {
      const old = await repo().readFile({ repoRef: slug, path: 'config/app.json', ref })
      expect(dec(old.content)).toBe('{"v": 1}\n')
      expect(old.headSha).toBe(first.commit)
    }
    await expect(repo().readFile({ repoRef: slug, path: 'config/app.json', ref: 'nope' })).rejects.toMatchObject({ code: Code.NotFound })
    await expect(repo().readFile({ repoRef: slug, path: 'config/missing.json' })).rejects.toMatchObject({ code: Code.NotFound })
    await expect(repo().readFile({ repoRef: 'no-such-repo', path: 'a' })).rejects.toMatchObject({ code: Code.NotFound })
  })

  it('lists one directory level with blob/tree types', async () => {
    const root = await repo().listFiles({ repoRef: slug, path: '' })
    expect(root.entries.map((e) => [e.name, e.type])).toEqual([['README.md', 'blob'], ['config', 'tree']])
    const sub = await repo().listFiles({ repoRef: slug, path: 'config/' })
    expect(sub.entries.map((e) => [e.name, e.type])).toEqual([['app.json', 'blob']])
    expect((await repo().listFiles({ repoRef: slug, path: '/' })).entries).toHaveLength(2)
  })

  it('logs newest first with limit, path filter, author, time and the full message', async () => {
    const msg = 'Deploy staging\n\nBody line.\n\nDeploy-Id: d-123\nDeploy-Env: staging'
    const w = await repo().writeFile({ repoRef: slug, path: 'other.txt', content: enc('x'), message: msg })
    const log = await repo().log({ repoRef: slug })
    expect(log.commits.map((c) => c.hash)).toEqual(git(server.repoGitDir(slug), 'rev-list', 'main').split('\n'))
    const top = log.commits[0]!
    expect(top.hash).toBe(w.commit)
    expect(top.subject).toBe('Deploy staging')
    expect(top.message).toBe(msg)
    expect(top.authorName).toBe('githosted')
    expect(top.committedAt && Math.abs(timestampDate(top.committedAt).getTime() - Date.now())).toBeLessThan(600_000)
    expect((await repo().log({ repoRef: slug, limit: 2 })).commits).toHaveLength(2)
    const filtered = await repo().log({ repoRef: slug, path: 'config/app.json' })
    expect(filtered.commits.map((c) => c.subject)).toEqual(['Update config/app.json', 'v1'])
    expect(filtered.commits[1]!.authorEmail).toBe('ada@example.com')
  })

  it('diffs two refs as a unified patch, optionally for one path', async () => {
    const d = await repo().diff({ repoRef: slug, base: 'HEAD~2', head: 'HEAD' })
    expect(d.patch).toContain('--- a/config/app.json')
    expect(d.patch).toContain('-{"v": 1}')
    expect(d.patch).toContain('+{"v": 2}')
    expect(d.patch).toContain('+++ b/other.txt')
    const one = await repo().diff({ repoRef: slug, base: 'HEAD~2', head: 'HEAD', path: 'other.txt' })
    expect(one.patch).toContain('other.txt')
    expect(one.patch).not.toContain('app.json')
  })

  it('deletes a file with a real commit and refuses to delete a missing one', async () => {
    const before = git(server.repoGitDir(slug), 'rev-parse', 'main')
    const d = await repo().deleteFile({ repoRef: slug, path: 'other.txt' })
    expect(git(server.repoGitDir(slug), 'rev-parse', `${d.commit}^`)).toBe(before)
    expect(git(server.repoGitDir(slug), 'ls-tree', '--name-only', d.commit)).toBe('README.md\nconfig')
    await expect(repo().readFile({ repoRef: slug, path: 'other.txt' })).rejects.toMatchObject({ code: Code.NotFound })
    await expect(repo().deleteFile({ repoRef: slug, path: 'other.txt' })).rejects.toMatchObject({ code: Code.NotFound })
  })

  it('writes to a new branch forked from main and lists branches', async () => {
    const main = git(server.repoGitDir(slug), 'rev-parse', 'main')
    const w = await repo().writeFile({ repoRef: slug, branch: 'feature/x', path: 'f.txt', content: enc('f') })
    expect(w.branch).toBe('feature/x')
    expect(git(server.repoGitDir(slug), 'rev-parse', `${w.commit}^`)).toBe(main)
    const { branches } = await repo().listBranches({ repoRef: slug })
    expect(branches.map((b) => [b.name, b.commit, b.isDefault])).toEqual([
      ['feature/x', w.commit, false],
      ['main', main, true],
    ])
    await expect(repo().readFile({ repoRef: slug, path: 'f.txt' })).rejects.toMatchObject({ code: Code.NotFound })
  })

  it('accepts a matching expectedHead and writes by rp_ id', async () => {
    const head = (await repo().readFile({ repoRef: slug, path: 'README.md' })).headSha
    const id = (await apiClient(server.url, server.bootstrapToken, variant).listRepos({})).repos.find((r) => r.slug === slug)!.id
    const w = await repo().writeFile({ repoRef: id, path: 'README.md', content: enc('v2\n'), expectedHead: head })
    expect(git(server.repoGitDir(slug), 'rev-parse', `${w.commit}^`)).toBe(head)
  })

  it('deletes the repo', async () => {
    const gitdir = server.repoGitDir(slug)
    await repo().deleteRepo({ repoRef: slug })
    await expect(repo().readFile({ repoRef: slug, path: 'README.md' })).rejects.toMatchObject({ code: Code.NotFound })
    expect(() => git(gitdir, 'rev-parse', 'main')).toThrow()
  })
})

describe.each(VARIANTS)('ApiService over $name', (variant) => {
  const api = () => apiClient(server.url, server.bootstrapToken, variant)

  it('creates, exchanges, lists (paginated) and revokes tokens', async () => {
    const created = await api().createToken({
      name: `ci-${variant.name}`, kind: TokenKind.REPO, permission: Permission.READ,
      repoAllowlist: ['deploy-configs'], ttlHours: 2,
    })
    expect(looksLikeToken('gr', created.token)).toBe(true)
    expect(created.record?.prefix).toBe('gr')
    expect(created.record?.kind).toBe(TokenKind.REPO)
    expect(created.record?.permission).toBe(Permission.READ)
    expect(created.record?.id).toMatch(/^tok_/)
    expect(created.record?.repoAllowlist).toEqual(['deploy-configs'])
    const ttl = timestampDate(created.record!.expiresAt!).getTime() - timestampDate(created.record!.createdAt!).getTime()
    expect(ttl).toBe(2 * 3600_000)

    const ws = await api().createToken({ name: 'ws', kind: TokenKind.WORKSPACE, permission: Permission.WRITE })
    expect(looksLikeToken('gw', ws.token)).toBe(true)
    expect(ws.record?.expiresAt).toBeUndefined()

    const ex = await api().exchangeToken({ repoAllowlist: ['deploy-configs'], subject: 'user-1' })
    expect(looksLikeToken('gr', ex.token)).toBe(true)
    expect(ex.record?.kind).toBe(TokenKind.REPO)
    expect(ex.record?.permission).toBe(Permission.READ)
    const exTtl = timestampDate(ex.record!.expiresAt!).getTime() - timestampDate(ex.record!.createdAt!).getTime()
    expect(exTtl).toBe(3600_000)

    const all = []
    let pageToken = ''
    let pages = 0
    do {
      const page = await api().listTokens({ pageSize: 2, pageToken })
      expect(page.tokens.length).toBeLessThanOrEqual(2)
      all.push(...page.tokens)
      pageToken = page.nextPageToken
      pages++
    } while (pageToken)
    expect(pages).toBeGreaterThan(1)
    expect(all.map((t) => t.id)).toContain(created.record!.id)
    expect(new Set(all.map((t) => t.id)).size).toBe(all.length)
    const listed = JSON.stringify(all, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
    expect(listed.includes(created.token)).toBe(false)

    await api().revokeToken({ tokenId: created.record!.id })
    const after = (await api().listTokens({ pageSize: 100 })).tokens.find((t) => t.id === created.record!.id)
    expect(after?.revokedAt).toBeDefined()
    await expect(api().revokeToken({ tokenId: 'tok_nope' })).rejects.toMatchObject({ code: Code.NotFound })
  })
})
