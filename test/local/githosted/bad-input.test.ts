import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBinary, create } from '@bufbuild/protobuf'
import { WriteFileRequestSchema } from '../../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { git, rawCall } from './support.js'

let server: TestGithosted

beforeAll(async () => {
  server = await startTestGithosted()
})

afterAll(async () => {
  await server?.close()
})

const WRITE = '/githosted.v1.RepoService/WriteFile'

/** Everything observable on disk about the seeded repo and the data dir. */
function snapshot(): string {
  const gitdir = server.repoGitDir('deploy-configs')
  return JSON.stringify({
    refs: git(gitdir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    tree: git(gitdir, 'ls-tree', '-r', 'main'),
    objects: git(gitdir, 'count-objects', '-v'),
    // state.json itself may be rewritten (lastUsedAt); no other file may appear.
    dataDir: readdirSync(server.dataDir).filter((f) => !f.endsWith('.tmp')).sort(),
    repos: readdirSync(`${server.dataDir}/repos`).sort(),
  })
}

describe('bad input over raw HTTP', () => {
  it('answers malformed JSON with invalid_argument', async () => {
    const before = snapshot()
    const res = await rawCall(server.url, WRITE, '{"repoRef": "deploy-configs", ', { token: server.bootstrapToken })
    expect(res.status).toBe(400)
    expect(res.json.code).toBe('invalid_argument')
    expect(String(res.json.message)).toMatch(/parse|JSON/i)
    expect(snapshot()).toBe(before)
  })

  it('answers a wrong content type with 415 and a Connect error body', async () => {
    const res = await rawCall(server.url, WRITE, 'repoRef=deploy-configs', { token: server.bootstrapToken, contentType: 'text/plain' })
    expect(res.status).toBe(415)
    expect(res.json.code).toBe('invalid_argument')
    expect(String(res.json.message)).toContain('application/json or application/proto')
  })

  it('answers an unknown method with 404 and a Connect error body', async () => {
    const res = await rawCall(server.url, '/githosted.v1.RepoService/MergeBranch', '{}', { token: server.bootstrapToken })
    expect(res.status).toBe(404)
    expect(res.json.code).toBe('unimplemented')
    expect(String(res.json.message)).toContain('MergeBranch')
  })

  it('refuses an oversized body with resource_exhausted', async () => {
    const before = snapshot()
    const content = Buffer.alloc(2 * 1024 * 1024, 'a').toString('base64')
    const body = JSON.stringify({ repoRef: 'deploy-configs', path: 'big.bin', content })
    const res = await rawCall(server.url, WRITE, body, { token: server.bootstrapToken })
    expect(res.json.code).toBe('resource_exhausted')
    expect(String(res.json.message)).toMatch(/larger than|exceeds|max/i)
    expect(snapshot()).toBe(before)
  })

  it('accepts a request without Connect-Protocol-Version, with unknown JSON fields ignored', async () => {
    const res = await rawCall(server.url, '/githosted.v1.RepoService/ListBranches',
      JSON.stringify({ repoRef: 'deploy-configs', someFutureField: 1 }), { token: server.bootstrapToken })
    expect(res.status).toBe(200)
    expect((res.json.branches as unknown[]).length).toBe(1)
  })

  const badPaths = ['../x', '/etc/passwd', 'a/../../b', 'a//b', 'a/', '.git/config', 'sub/.GIT/x', 'a\\b', 'a\u0000b', './a', '']
  it.each(badPaths)('refuses path %j on every path-taking RPC and changes nothing', async (path) => {
    const before = snapshot()
    const token = server.bootstrapToken
    const calls: Array<[string, object]> = [
      [WRITE, { repoRef: 'deploy-configs', path, content: 'eA==' }],
      ['/githosted.v1.RepoService/DeleteFile', { repoRef: 'deploy-configs', path }],
      ['/githosted.v1.RepoService/ReadFile', { repoRef: 'deploy-configs', path }],
    ]
    if (path !== '' && path !== 'a/') {
      calls.push(['/githosted.v1.RepoService/ListFiles', { repoRef: 'deploy-configs', path }])
      calls.push(['/githosted.v1.RepoService/Log', { repoRef: 'deploy-configs', path }])
      calls.push(['/githosted.v1.RepoService/Diff', { repoRef: 'deploy-configs', base: 'HEAD~1', head: 'HEAD', path }])
    }
    for (const [procedure, body] of calls) {
      const res = await rawCall(server.url, procedure, JSON.stringify(body), { token })
      expect({ procedure, status: res.status, code: res.json.code }).toEqual({ procedure, status: 400, code: 'invalid_argument' })
      expect(String(res.json.message)).toMatch(/^path: /)
    }
    expect(snapshot()).toBe(before)
  })

  it('refuses a traversal path sent as binary protobuf too', async () => {
    const before = snapshot()
    const body = toBinary(WriteFileRequestSchema, create(WriteFileRequestSchema, {
      repoRef: 'deploy-configs', path: '../../escape.txt', content: new Uint8Array([1]),
    }))
    const res = await rawCall(server.url, WRITE, body, { token: server.bootstrapToken, contentType: 'application/proto' })
    expect(res.status).toBe(400)
    expect(res.json.code).toBe('invalid_argument')
    expect(snapshot()).toBe(before)
  })

  it.each(['../main', 'refs/../../config', '-x', 'a..b', 'main.lock'])('refuses branch / ref %j', async (name) => {
    const before = snapshot()
    const w = await rawCall(server.url, WRITE, JSON.stringify({ repoRef: 'deploy-configs', branch: name, path: 'a', content: 'eA==' }), { token: server.bootstrapToken })
    expect(w.json.code).toBe('invalid_argument')
    const r = await rawCall(server.url, '/githosted.v1.RepoService/ReadFile', JSON.stringify({ repoRef: 'deploy-configs', ref: name, path: 'a' }), { token: server.bootstrapToken })
    expect(r.json.code).toBe('invalid_argument')
    expect(snapshot()).toBe(before)
  })

  it('refuses a file path through an existing file and a write onto a directory', async () => {
    const before = snapshot()
    const through = await rawCall(server.url, WRITE, JSON.stringify({ repoRef: 'deploy-configs', path: 'environments/staging.json/x', content: 'eA==' }), { token: server.bootstrapToken })
    expect(through.json.code).toBe('failed_precondition')
    const onto = await rawCall(server.url, WRITE, JSON.stringify({ repoRef: 'deploy-configs', path: 'environments', content: 'eA==' }), { token: server.bootstrapToken })
    expect(onto.json.code).toBe('failed_precondition')
    expect(snapshot()).toBe(before)
  })

  it.each(['../evil', 'rp_fake', 'has space', ''])('refuses repo slug %j', async (slug) => {
    const res = await rawCall(server.url, '/githosted.v1.RepoService/CreateRepo', JSON.stringify({ name: slug || '   ' }), { token: server.bootstrapToken })
    expect(res.json.code).toBe('invalid_argument')
  })
})
