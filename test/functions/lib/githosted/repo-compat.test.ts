import { describe, expect, it } from 'vitest'
import {
  Client,
  ExpectedHeadUnverifiedError,
  ExpectedHeadViolationError,
  StaleHeadError,
  gitBlobSha,
  type ClientOptions,
} from '../../../../functions/lib/githosted/index.js'
import { virtualTime } from './fake-connect.js'
import { forgetCapabilities } from '../../../../functions/lib/githosted/capabilities.js'
import { FakeGit } from './fake-git.js'

function setup(extensions: boolean, opts: Partial<ClientOptions> = {}) {
  forgetCapabilities()
  const git = new FakeGit({ extensions })
  const client = new Client({
    token: 'test-token',
    baseUrl: 'http://fake.test',
    fetch: git.server.fetch,
    ...virtualTime().deps,
    ...opts,
  })
  const methods = () => git.server.requests.map((r) => r.procedure.split('/').pop())
  return { git, repo: client.repo('cfg'), methods }
}

describe('reads on a server without headSha', () => {
  it('learns the head from Log and reads at that commit; blobSha computed locally', async () => {
    const { git, repo, methods } = setup(false)
    const f = await repo.read('a.json')
    expect(f.headSha).toBe(git.tip.hash)
    expect(f.content).toBe('{}\n')
    expect(f.blobSha).toBe(gitBlobSha(Buffer.from('{}\n')))
    // First read discovers the server kind: ReadFile, then Log + ReadFile at the SHA.
    expect(methods()).toEqual(['ReadFile', 'Log', 'ReadFile'])
    expect(git.server.requests[1]?.body).toEqual({ repoRef: 'cfg', limit: 1 })
    expect(git.server.requests[2]?.body).toMatchObject({ ref: git.tip.hash })
    // Afterwards it goes straight to Log + ReadFile.
    await repo.read('a.json')
    expect(methods().slice(3)).toEqual(['Log', 'ReadFile'])
  })

  it('content and headSha agree even when the branch moves between Log and ReadFile', async () => {
    const { git, repo } = setup(false)
    await repo.read('a.json')
    const before = git.tip.hash
    // Another writer commits right after our Log answered.
    git.hooks.afterLog = () => {
      git.intrude('a.json', '{"x":2}\n')
      git.hooks.afterLog = undefined
    }
    const f = await repo.read('a.json')
    expect(git.tip.hash).not.toBe(before)
    expect(f.headSha).toBe(before)
    expect(f.content).toBe('{}\n')
  })

  it('the learned head follows the requested ref', async () => {
    const { git, repo } = setup(false)
    const first = git.tip.hash
    git.intrude('a.json', '{"v":2}\n')
    await repo.read('a.json') // discovery
    const f = await repo.read('a.json', { ref: first })
    expect(f.headSha).toBe(first)
    expect(f.content).toBe('{}\n')
    // A full SHA is its own head: no Log needed for it.
    expect(git.server.calls('Log').map((r) => r.body.ref)).toEqual([undefined])
  })
})

describe('reads on a server with headSha', () => {
  it('uses the server fields and makes one call', async () => {
    const { git, repo, methods } = setup(true)
    const f = await repo.read('a.json')
    expect(f.headSha).toBe(git.tip.hash)
    expect(f.blobSha).toBe('server-blob-sha')
    expect(methods()).toEqual(['ReadFile'])
  })
})

describe('writes with expectedHead on a server that ignores it', () => {
  it('pre-checks, writes, verifies the parent: success when nobody raced', async () => {
    const { git, repo, methods } = setup(false)
    const f = await repo.read('a.json')
    const res = await repo.write('a.json', '{"y":1}\n', { message: 'm', expectedHead: f.headSha })
    expect(res.commit).toBe(git.tip.hash)
    expect(git.tip.parent).toBe(f.headSha)
    expect(methods().slice(3)).toEqual(['Log', 'WriteFile', 'Log'])
    expect(git.server.requests[5]?.body).toEqual({ repoRef: 'cfg', ref: res.commit, limit: 2 })
  })

  it('a head that already moved is refused by the pre-check: StaleHeadError, nothing written', async () => {
    const { git, repo } = setup(false)
    const f = await repo.read('a.json')
    const other = git.intrude('b.json', 'b')
    const err = (await repo
      .write('a.json', 'mine', { message: 'm', expectedHead: f.headSha })
      .catch((e: unknown) => e)) as StaleHeadError
    expect(err).toBeInstanceOf(StaleHeadError)
    expect(err.actualHead).toBe(other)
    expect(err.expectedHead).toBe(f.headSha)
    expect(git.server.calls('WriteFile')).toHaveLength(0)
    expect(git.tip.hash).toBe(other)
  })

  it('a race inside the window is detected after the fact: ExpectedHeadViolationError', async () => {
    const { git, repo } = setup(false)
    const f = await repo.read('a.json')
    let intruder = ''
    git.hooks.beforeWrite = () => {
      intruder = git.intrude('b.json', 'b')
      git.hooks.beforeWrite = undefined
    }
    const err = (await repo
      .write('a.json', 'mine', { message: 'm', expectedHead: f.headSha })
      .catch((e: unknown) => e)) as ExpectedHeadViolationError
    expect(err).toBeInstanceOf(ExpectedHeadViolationError)
    expect(err).not.toBeInstanceOf(ExpectedHeadUnverifiedError)
    expect(err.code).toBe('GITHOSTED_EXPECTED_HEAD_VIOLATION')
    expect(err.status).toBe(409)
    expect(err.expectedHead).toBe(f.headSha)
    expect(err.actualParent).toBe(intruder)
    expect(err.commit).toBe(git.tip.hash)
    expect(err.message).toContain('LANDED')
    // The write did land (the caller must repair).
    expect(git.tip.files.get('a.json')?.toString()).toBe('mine')
  })

  it('deletes are verified the same way', async () => {
    const { git, repo } = setup(false)
    const f = await repo.read('a.json')
    git.hooks.beforeWrite = () => {
      git.intrude('b.json', 'b')
      git.hooks.beforeWrite = undefined
    }
    await expect(repo.delete('a.json', { message: 'rm', expectedHead: f.headSha })).rejects.toBeInstanceOf(
      ExpectedHeadViolationError,
    )
    expect(git.tip.files.has('a.json')).toBe(false)
  })

  it('if the check itself fails, the error says the write landed unverified', async () => {
    const { git, repo } = setup(false)
    const f = await repo.read('a.json')
    git.hooks.failLog = (b) => Number(b.limit) === 2
    const err = (await repo
      .write('a.json', 'x', { message: 'm', expectedHead: f.headSha })
      .catch((e: unknown) => e)) as ExpectedHeadUnverifiedError
    expect(err).toBeInstanceOf(ExpectedHeadUnverifiedError)
    expect(err).toBeInstanceOf(ExpectedHeadViolationError)
    expect(err.code).toBe('GITHOSTED_EXPECTED_HEAD_UNVERIFIED')
    expect(err.commit).toBe(git.tip.hash)
    expect(err.message).toContain('LANDED')
  })

  it("verifyExpectedHead 'never' skips the checks (and so cannot see the clobber)", async () => {
    const { git, repo, methods } = setup(false, { verifyExpectedHead: 'never' })
    const f = await repo.read('a.json')
    git.intrude('b.json', 'b')
    await repo.write('a.json', 'x', { message: 'm', expectedHead: f.headSha })
    expect(methods().slice(3)).toEqual(['WriteFile'])
  })

  it('a write without expectedHead is not checked', async () => {
    const { repo, methods } = setup(false)
    await repo.write('a.json', 'x', { message: 'm' })
    expect(methods()).toEqual(['WriteFile'])
  })
})

describe('writes with expectedHead on a server that enforces it', () => {
  it("'auto' stops checking once a read returned headSha; the server's StaleHead comes through", async () => {
    const { git, repo, methods } = setup(true)
    const f = await repo.read('a.json')
    const other = git.intrude('b.json', 'b')
    const err = (await repo
      .write('a.json', 'x', { message: 'm', expectedHead: f.headSha })
      .catch((e: unknown) => e)) as StaleHeadError
    expect(err).toBeInstanceOf(StaleHeadError)
    expect(err.actualHead).toBe(other)
    expect(err.repoId).toBe('rp_fake')
    expect(methods()).toEqual(['ReadFile', 'WriteFile'])
  })

  it("'auto' checks before any read has shown the server's kind", async () => {
    const { git, repo, methods } = setup(true)
    const head = git.tip.hash
    await repo.write('a.json', 'x', { message: 'm', expectedHead: head })
    expect(methods()).toEqual(['Log', 'WriteFile', 'Log'])
  })

  it("'always' checks even on an enforcing server", async () => {
    const { repo, methods } = setup(true, { verifyExpectedHead: 'always' })
    const f = await repo.read('a.json')
    await repo.write('a.json', 'x', { message: 'm', expectedHead: f.headSha })
    expect(methods()).toEqual(['ReadFile', 'Log', 'WriteFile', 'Log'])
  })
})
