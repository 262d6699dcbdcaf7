import { afterEach, describe, expect, it } from 'vitest'
import { Code, ConnectError } from '@connectrpc/connect'
import {
  RepoBusyDetailSchema,
  StaleHeadDetailSchema,
} from '../../../functions/lib/githosted/gen/githosted/v1/errors_pb.js'
import { startTestGithosted, type TestGithosted } from '../../helpers/githosted.js'
import { dec, enc, git, rawCall, repoClient, VARIANTS } from './support.js'

let server: TestGithosted | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

const PATH = 'environments/staging.json'

async function caught(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p
  } catch (err) {
    return ConnectError.from(err)
  }
  throw new Error('expected the call to fail')
}

describe('expectedHead', () => {
  it.each(VARIANTS)('refuses a stale head with StaleHeadDetail over $name', async (variant) => {
    server = await startTestGithosted()
    const c = repoClient(server.url, server.bootstrapToken, variant)
    const { headSha } = await c.readFile({ repoRef: 'deploy-configs', path: PATH })
    const moved = await c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('{}\n'), expectedHead: headSha })
    const err = await caught(c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('{"x":1}\n'), expectedHead: headSha }))
    expect(err.code).toBe(Code.FailedPrecondition)
    const [detail] = err.findDetails(StaleHeadDetailSchema)
    expect(detail).toMatchObject({ ref: 'main', expectedHead: headSha, actualHead: moved.commit })
    expect(detail?.repoId).toMatch(/^rp_/)
    // Nothing written by the refused call.
    expect(git(server.repoGitDir('deploy-configs'), 'rev-parse', 'main')).toBe(moved.commit)
    const del = await caught(c.deleteFile({ repoRef: 'deploy-configs', path: PATH, expectedHead: headSha }))
    expect(del.findDetails(StaleHeadDetailSchema)[0]?.actualHead).toBe(moved.commit)
  })

  it('writes `debug` (JSON) and `value` (binary) for the detail in the raw error body', async () => {
    server = await startTestGithosted()
    const c = repoClient(server.url, server.bootstrapToken)
    const { headSha } = await c.readFile({ repoRef: 'deploy-configs', path: PATH })
    const moved = await c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('{}\n') })
    const body = JSON.stringify({ repoRef: 'deploy-configs', path: PATH, content: 'e30K', expectedHead: headSha })
    const res = await rawCall(server.url, '/githosted.v1.RepoService/WriteFile', body, { token: server.bootstrapToken })
    expect(res.json.code).toBe('failed_precondition')
    expect(typeof res.json.message).toBe('string')
    const details = res.json.details as Array<{ type: string; value: string; debug: Record<string, string> }>
    expect(details[0]?.type).toBe('githosted.v1.StaleHeadDetail')
    expect(details[0]?.debug).toMatchObject({ ref: 'main', expectedHead: headSha, actualHead: moved.commit })
    expect(details[0]?.value).toMatch(/^[A-Za-z0-9+/]+$/)
  })

  it('rejects a malformed expectedHead with invalid_argument', async () => {
    server = await startTestGithosted()
    const c = repoClient(server.url, server.bootstrapToken)
    const err = await caught(c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('x'), expectedHead: 'abc' }))
    expect(err.code).toBe(Code.InvalidArgument)
  })

  it('treats a repo with no commits as head "" for expectedHead', async () => {
    server = await startTestGithosted()
    const c = repoClient(server.url, server.bootstrapToken)
    await c.createRepo({ name: 'empty' })
    const err = await caught(c.writeFile({ repoRef: 'empty', path: 'a', content: enc('x'), expectedHead: 'a'.repeat(40) }))
    expect(err.findDetails(StaleHeadDetailSchema)[0]?.actualHead).toBe('')
  })
})

describe('compat mode', () => {
  it('ignores expectedHead, omits headSha/sha and the Log message; switchable at runtime', async () => {
    server = await startTestGithosted({ compat: true })
    const c = repoClient(server.url, server.bootstrapToken)
    const read = await c.readFile({ repoRef: 'deploy-configs', path: PATH })
    expect(read.headSha).toBe('')
    expect(read.sha).toBe('')
    const raw = await rawCall(server.url, '/githosted.v1.RepoService/ReadFile',
      JSON.stringify({ repoRef: 'deploy-configs', path: PATH }), { token: server.bootstrapToken })
    expect(Object.keys(raw.json)).toEqual(['content'])
    const stale = 'f'.repeat(40)
    const w = await c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('{}\n'), message: 's\n\nTrailer: 1', expectedHead: stale })
    expect(dec((await c.readFile({ repoRef: 'deploy-configs', path: PATH })).content)).toBe('{}\n')
    const log = await c.log({ repoRef: 'deploy-configs', limit: 1 })
    expect(log.commits[0]).toMatchObject({ hash: w.commit, subject: 's', message: '' })

    server.setCompat(false)
    expect((await c.readFile({ repoRef: 'deploy-configs', path: PATH })).headSha).toBe(w.commit)
    expect((await c.log({ repoRef: 'deploy-configs', limit: 1 })).commits[0]?.message).toBe('s\n\nTrailer: 1')
    const err = await caught(c.writeFile({ repoRef: 'deploy-configs', path: PATH, content: enc('x'), expectedHead: stale }))
    expect(err.code).toBe(Code.FailedPrecondition)
  })
})

describe('write serialization', () => {
  it('serializes concurrent writers: every write lands, one commit each, linear history', async () => {
    server = await startTestGithosted()
    const c = repoClient(server.url, server.bootstrapToken)
    const before = Number(git(server.repoGitDir('deploy-configs'), 'rev-list', '--count', 'main'))
    const writes = Array.from({ length: 12 }, (_, i) =>
      c.writeFile({ repoRef: 'deploy-configs', path: `files/f${i}.txt`, content: enc(`${i}`) }))
    const results = await Promise.all(writes)
    const gitdir = server.repoGitDir('deploy-configs')
    expect(Number(git(gitdir, 'rev-list', '--count', 'main'))).toBe(before + 12)
    expect(git(gitdir, 'ls-tree', '--name-only', 'main', 'files/').split('\n')).toHaveLength(12)
    expect(new Set(results.map((r) => r.commit)).size).toBe(12)
    expect(git(gitdir, 'rev-list', '--merges', 'main')).toBe('')
  })

  it('answers RepoBusy when a writer cannot get the lease in time', async () => {
    server = await startTestGithosted({ faults: { holdWriteMs: 1000, lockWaitMs: 50 } })
    const c = repoClient(server.url, server.bootstrapToken)
    const results = await Promise.allSettled([
      c.writeFile({ repoRef: 'deploy-configs', path: 'a.txt', content: enc('a') }),
      c.writeFile({ repoRef: 'deploy-configs', path: 'b.txt', content: enc('b') }),
    ])
    const failed = results.filter((r) => r.status === 'rejected')
    expect(failed).toHaveLength(1)
    const err = ConnectError.from((failed[0] as PromiseRejectedResult).reason)
    expect(err.code).toBe(Code.Aborted)
    const [detail] = err.findDetails(RepoBusyDetailSchema)
    expect(detail?.operation).toBe('write_file')
    expect(detail?.repoId).toMatch(/^rp_[0-9a-z]{20}$/)
  })
})
