/**
 * The server profiles (local/githosted/profiles.ts), seen on the wire with
 * connect-es's generic client and raw HTTP: each variant's distinguishing
 * behaviour, and that the others do not show it.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectError } from '@connectrpc/connect'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { SEED_REPO } from '../../../local/githosted/index.js'
import { repoClient, VARIANTS } from './support.js'

const H1_JSON = VARIANTS[0]
const H2_JSON = VARIANTS[2]
const H2_BINARY = VARIANTS[3]

/** One raw HTTP/1.1 JSON POST; resolves with status and body, or rejects with the socket error. */
function postJson(url: string, token: string, procedure: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url + procedure, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const WRITE = '/githosted.v1.RepoService/WriteFile'

describe('githosted profiles', () => {
  let gh: TestGithosted
  beforeAll(async () => {
    gh = await startTestGithosted()
  })
  afterAll(() => gh.close())

  it('documented: enforces expectedHead and returns headSha', async () => {
    gh.setProfile('documented')
    const c = repoClient(gh.url, gh.bootstrapToken, H1_JSON)
    const read = await c.readFile({ repoRef: SEED_REPO, path: 'environments/staging.json' })
    expect(read.headSha).toMatch(/^[0-9a-f]{40}$/)
    const stale = '0'.repeat(40)
    await expect(
      c.writeFile({ repoRef: SEED_REPO, path: 'x.txt', content: new TextEncoder().encode('x'), message: 'm', expectedHead: stale }),
    ).rejects.toThrow(/stale head/)
  })

  it('hosted-today: ignores expectedHead, no headSha, unknown JSON fields dropped', async () => {
    gh.setProfile('hosted-today')
    const c = repoClient(gh.url, gh.bootstrapToken, H1_JSON)
    const read = await c.readFile({ repoRef: SEED_REPO, path: 'environments/staging.json' })
    expect(read.headSha).toBe('')
    const res = await postJson(gh.url, gh.bootstrapToken, WRITE, {
      repoRef: SEED_REPO, path: 'today.txt', content: 'eA==', message: 'm', expectedHead: '0'.repeat(40), somethingElse: 1,
    })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).commit).toMatch(/^[0-9a-f]{40}$/)
  })

  it('strict-schema: rejects expectedHead and any unknown key as protobuf-es fromJson does', async () => {
    gh.setProfile('strict-schema')
    const ext = await postJson(gh.url, gh.bootstrapToken, WRITE, {
      repoRef: SEED_REPO, path: 'strict.txt', content: 'eA==', message: 'm', expectedHead: '0'.repeat(40),
    })
    expect(ext.status).toBe(400)
    expect(JSON.parse(ext.text)).toEqual({
      code: 'invalid_argument',
      message: 'cannot decode message githosted.v1.WriteFileRequest from JSON: key "expectedHead" is unknown',
    })
    const other = await postJson(gh.url, gh.bootstrapToken, WRITE, { repoRef: SEED_REPO, path: 'strict.txt', content: 'eA==', bogus: true })
    expect(other.status).toBe(400)
    expect(JSON.parse(other.text).message).toMatch(/key "bogus" is unknown/)
    // Without extensions the same write lands; binary clients' unknown field numbers are kept silently.
    const plain = await postJson(gh.url, gh.bootstrapToken, WRITE, { repoRef: SEED_REPO, path: 'strict.txt', content: 'eA==', message: 'm' })
    expect(plain.status).toBe(200)
    const bin = repoClient(gh.url, gh.bootstrapToken, H2_BINARY)
    await expect(bin.writeFile({ repoRef: SEED_REPO, path: 'strict.txt', content: new Uint8Array([1]), message: 'm', expectedHead: '0'.repeat(40) })).resolves.toBeDefined()
    // No Commit.message in Log on the official schema.
    const log = await repoClient(gh.url, gh.bootstrapToken, H1_JSON).log({ repoRef: SEED_REPO, limit: 1 })
    expect(log.commits[0]?.message).toBe('')
    expect(log.commits[0]?.subject).toBe('m')
  })

  it('minimal: HTTP/1.1 is reset, h2c works, DeleteFile and ListBranches are unimplemented', async () => {
    gh.setProfile('minimal')
    await expect(postJson(gh.url, gh.bootstrapToken, '/githosted.v1.RepoService/ReadFile', { repoRef: SEED_REPO, path: 'strict.txt' })).rejects.toMatchObject({ code: 'ECONNRESET' })
    const c = repoClient(gh.url, gh.bootstrapToken, H2_JSON)
    const read = await c.readFile({ repoRef: SEED_REPO, path: 'strict.txt' })
    expect(read.content.length).toBeGreaterThan(0)
    const del = await c.deleteFile({ repoRef: SEED_REPO, path: 'strict.txt', message: 'rm' }).catch((e: unknown) => e)
    expect(ConnectError.from(del).rawMessage).toBe('githosted.v1.RepoService.DeleteFile is not implemented')
    expect(ConnectError.from(del).code).toBe(12)
    await expect(c.listBranches({ repoRef: SEED_REPO })).rejects.toThrow(/ListBranches is not implemented/)
    gh.setProfile('documented')
    await expect(postJson(gh.url, gh.bootstrapToken, '/githosted.v1.RepoService/ReadFile', { repoRef: SEED_REPO, path: 'strict.txt' })).resolves.toMatchObject({ status: 200 })
  })

  it('refuses an unknown profile name with the list of valid ones', () => {
    expect(() => gh.setProfile('bogus' as never)).toThrow(/one of: documented, hosted-today, strict-schema, minimal/)
  })
})
