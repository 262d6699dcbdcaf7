import { afterEach, describe, expect, it } from 'vitest'
import {
  Client,
  GithostedError,
  GithostedNetworkError,
  GithostedTimeoutError,
  GithostedUnavailableError,
  NotFoundError,
  RepoBusyError,
  StaleHeadError,
  UnauthenticatedError,
  gitBlobSha,
  type ClientConfig,
} from '../../../../functions/lib/githosted/index.js'
import { forgetCapabilities } from '../../../../functions/lib/githosted/capabilities.js'
import { ValidationError } from '../../../../functions/lib/errors.js'
import {
  connectError,
  fakeConnect,
  hangUntilAborted,
  networkFailure,
  ok,
  repoBusyResponse,
  staleHeadDetail,
  virtualTime,
  type Handler,
} from './fake-connect.js'

// Built at run time so no token-shaped literal sits in the source.
const TOKEN = ['gw', 'T'.repeat(12) + 'secretpart' + 'x'.repeat(12)].join('_')
const SHA_A = 'a'.repeat(40)
const SHA_B = 'b'.repeat(40)

function client(handlers: Record<string, Handler>, extra: Partial<ClientConfig> = {}) {
  const fake = fakeConnect(handlers)
  const time = virtualTime()
  forgetCapabilities()
  const c = new Client({
    token: TOKEN,
    baseUrl: 'http://githosted.test/',
    fetch: fake.fetch,
    ...time.deps,
    ...extra,
  })
  return { c, fake, time }
}

const savedEnv = { token: process.env.GITHOSTED_TOKEN, url: process.env.GITHOSTED_URL }
afterEach(() => {
  for (const [k, v] of [
    ['GITHOSTED_TOKEN', savedEnv.token],
    ['GITHOSTED_URL', savedEnv.url],
  ] as const) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

describe('wire format', () => {
  it('POSTs JSON to /githosted.v1.<Service>/<Method> with the Connect headers', async () => {
    const { c, fake } = client({ ListBranches: () => ok({ branches: [{ name: 'main', commit: SHA_A, isDefault: true }] }) })
    const branches = await c.repo('deploy-configs').listBranches()
    expect(branches).toEqual([{ name: 'main', commit: SHA_A, isDefault: true }])
    const [req] = fake.requests
    expect(req?.url).toBe('http://githosted.test/githosted.v1.RepoService/ListBranches')
    expect(req?.method).toBe('POST')
    expect(req?.headers['content-type']).toBe('application/json')
    expect(req?.headers['connect-protocol-version']).toBe('1')
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(req?.headers['x-githosted-client']).toBe('githosted-ci-broker')
    expect(req?.headers['x-request-id']).toMatch(/^req_[0-9a-f-]{36}$/)
    expect(req?.body).toEqual({ repoRef: 'deploy-configs' })
  })

  it('uses a fresh request id per call and a trimmed, lower-cased client name', async () => {
    const { c, fake } = client({ Diff: () => ok({ patch: 'p' }) }, { clientName: '  My-CLI ' })
    await c.repo('r').diff('a', 'b')
    await c.repo('r').diff('a', 'b')
    expect(fake.requests[0]?.headers['x-githosted-client']).toBe('my-cli')
    expect(fake.requests[0]?.headers['x-request-id']).not.toBe(fake.requests[1]?.headers['x-request-id'])
  })

  it('sends extension fields by name (expectedHead) and bytes as base64', async () => {
    const { c, fake } = client(
      { WriteFile: () => ok({ branch: 'main', commit: SHA_B }) },
      { verifyExpectedHead: 'never' },
    )
    const res = await c.repo('r').write('a.json', '{"x":1}', {
      message: 'm',
      expectedHead: SHA_A,
      branch: 'main',
    })
    expect(res).toEqual({ branch: 'main', commit: SHA_B })
    expect(fake.requests[0]?.body).toEqual({
      repoRef: 'r',
      branch: 'main',
      path: 'a.json',
      content: Buffer.from('{"x":1}').toString('base64'),
      message: 'm',
      expectedHead: SHA_A,
    })
  })

  it('ignores unknown response fields and treats an empty 200 body as {}', async () => {
    const { c } = client({
      Log: () =>
        ok({
          commits: [{ hash: SHA_A, subject: 's', committedAt: '2024-01-15T10:30:00.123Z', futureField: 1 }],
          alsoNew: true,
        }),
      RevokeToken: () => new Response('', { status: 200 }),
    })
    const log = await c.repo('r').log({ limit: 1 })
    expect(log[0]?.sha).toBe(SHA_A)
    expect(log[0]?.committedAt?.toISOString()).toBe('2024-01-15T10:30:00.123Z')
    expect(log[0]?.message).toBeUndefined()
    await expect(c.revokeToken('tok_1')).resolves.toBeUndefined()
  })

  it('a 200 with a non-JSON body is a GITHOSTED_INTERNAL error', async () => {
    const { c } = client({ Diff: () => new Response('<html>', { status: 200 }) })
    const err = await c.repo('r').diff('a', 'b').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GithostedError)
    expect((err as GithostedError).code).toBe('GITHOSTED_INTERNAL')
  })

  it('omits Authorization when there is no token anywhere', async () => {
    delete process.env.GITHOSTED_TOKEN
    const { c, fake } = client({ Diff: () => ok({}) }, { token: undefined })
    await c.repo('r').diff('a', 'b')
    expect(fake.requests[0]?.headers.authorization).toBeUndefined()
  })

  it('falls back to GITHOSTED_TOKEN and GITHOSTED_URL, then the public URL', async () => {
    process.env.GITHOSTED_TOKEN = TOKEN
    process.env.GITHOSTED_URL = 'http://from-env.test'
    const fake = fakeConnect({ Diff: () => ok({}) })
    const c = new Client({ fetch: fake.fetch })
    expect(c.baseUrl).toBe('http://from-env.test')
    await c.repo('r').diff('a', 'b')
    expect(fake.requests[0]?.url.startsWith('http://from-env.test/')).toBe(true)
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    delete process.env.GITHOSTED_URL
    expect(new Client({ fetch: fake.fetch }).baseUrl).toBe('https://api.githosted.dev')
  })

  it('keeps the token out of JSON.stringify and inspect output of the client', async () => {
    const { c } = client({})
    const { inspect } = await import('node:util')
    expect(JSON.stringify(c)).not.toContain('secretpart')
    expect(inspect(c, { depth: 5 })).not.toContain('secretpart')
  })
})

describe('control plane', () => {
  const record = {
    id: 'tok_1',
    prefix: 'gr',
    name: 'ci',
    kind: 'TOKEN_KIND_REPO',
    permission: 'PERMISSION_READ',
    repoAllowlist: ['deploy-configs'],
    expiresAt: '2030-01-01T00:00:00Z',
  }

  it('createToken maps enums both ways; an allowlist implies kind repo', async () => {
    const { c, fake } = client({ CreateToken: () => ok({ token: 'gr_issued', record }) })
    const res = await c.createToken({ name: 'ci', repoAllowlist: ['deploy-configs'], permission: 'read', ttlHours: 1 })
    expect(fake.requests[0]?.body).toEqual({
      name: 'ci',
      kind: 'TOKEN_KIND_REPO',
      permission: 'PERMISSION_READ',
      repoAllowlist: ['deploy-configs'],
      ttlHours: 1,
    })
    expect(res.record).toMatchObject({ id: 'tok_1', kind: 'repo', permission: 'read', repoAllowlist: ['deploy-configs'] })
    expect(res.record.expiresAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z')
    await c.createToken({ name: 'ws' })
    expect(fake.requests[1]?.body).toEqual({ name: 'ws', kind: 'TOKEN_KIND_WORKSPACE', permission: 'PERMISSION_WRITE' })
  })

  it('an unspecified permission on a record reads as write (never under-reports)', async () => {
    const { c } = client({ ListTokens: () => ok({ tokens: [{ id: 't', kind: 'TOKEN_KIND_WORKSPACE' }], nextPageToken: 'p2' }) })
    const res = await c.listTokens({ pageSize: 5 })
    expect(res.tokens[0]).toMatchObject({ permission: 'write', kind: 'workspace' })
    expect(res.nextPageToken).toBe('p2')
  })

  it('exchangeToken defaults to read and refuses an empty allowlist before calling', async () => {
    const { c, fake } = client({ ExchangeToken: () => ok({ token: 'gr_x', record }) })
    await c.exchangeToken({ repoAllowlist: ['deploy-configs'], ttlSeconds: 900, subject: 'ci:acme/app' })
    expect(fake.requests[0]?.body).toEqual({
      repoAllowlist: ['deploy-configs'],
      permission: 'PERMISSION_READ',
      ttlSeconds: 900,
      subject: 'ci:acme/app',
    })
    await expect(c.exchangeToken({ repoAllowlist: [] })).rejects.toBeInstanceOf(ValidationError)
    expect(fake.requests).toHaveLength(1)
  })

  it('createRepo and revokeToken send the right requests', async () => {
    const { c, fake } = client({
      CreateRepo: () => ok({ repo: { id: 'rp_1', name: 'n', slug: 'n', defaultBranch: 'main', workspaceId: 'ws_1' } }),
      RevokeToken: () => ok({}),
    })
    expect(await c.createRepo({ name: 'n' })).toMatchObject({ id: 'rp_1', defaultBranch: 'main' })
    await c.revokeToken('tok_9')
    expect(fake.calls('RevokeToken')[0]?.body).toEqual({ tokenId: 'tok_9' })
  })
})

describe('repo data plane', () => {
  it('ls maps blob/tree and joins paths', async () => {
    const { c, fake } = client({
      ListFiles: () =>
        ok({ entries: [{ name: 'staging.json', type: 'blob' }, { name: 'old', type: 'tree' }] }),
    })
    const entries = await c.repo('r').ls('/environments/', { ref: 'main' })
    expect(fake.requests[0]?.body).toEqual({ repoRef: 'r', ref: 'main', path: 'environments' })
    expect(entries).toEqual([
      { name: 'staging.json', path: 'environments/staging.json', type: 'file' },
      { name: 'old', path: 'environments/old', type: 'directory' },
    ])
    const root = await c.repo('r').ls()
    expect(root[0]?.path).toBe('staging.json')
  })

  it('read returns server headSha/sha when present', async () => {
    const bytes = Buffer.from('{"image":"app:1"}\n')
    const { c, fake } = client({
      ReadFile: () => ok({ content: bytes.toString('base64'), headSha: SHA_A, sha: 'f'.repeat(40) }),
    })
    const f = await c.repo('r').read('environments/staging.json')
    expect(f).toMatchObject({ path: 'environments/staging.json', content: '{"image":"app:1"}\n', headSha: SHA_A, blobSha: 'f'.repeat(40) })
    expect(Buffer.from(f.rawContent).equals(bytes)).toBe(true)
    expect(fake.requests).toHaveLength(1)
  })

  it('delete calls DeleteFile, not an empty write', async () => {
    const { c, fake } = client({ DeleteFile: () => ok({ branch: 'main', commit: SHA_B }) })
    await c.repo('r').delete('holds/production.json', { message: 'release hold' })
    expect(fake.calls('WriteFile')).toHaveLength(0)
    expect(fake.calls('DeleteFile')[0]?.body).toEqual({ repoRef: 'r', path: 'holds/production.json', message: 'release hold' })
  })

  it('log sends ref/path/limit and returns the full message where present', async () => {
    const { c, fake } = client({
      Log: () => ok({ commits: [{ hash: SHA_A, subject: 'deploy', message: 'deploy\n\nDeploy-By: x\n', authorName: 'a', authorEmail: 'e' }] }),
    })
    const [commit] = await c.repo('r').log({ ref: 'main', path: 'x.json', limit: 3 })
    expect(fake.requests[0]?.body).toEqual({ repoRef: 'r', ref: 'main', path: 'x.json', limit: 3 })
    expect(commit).toMatchObject({ sha: SHA_A, subject: 'deploy', message: 'deploy\n\nDeploy-By: x\n', authorName: 'a' })
  })
})

describe('errors through the client', () => {
  it('StaleHead from the server is thrown as StaleHeadError and not retried', async () => {
    const { c, fake } = client(
      {
        WriteFile: () =>
          connectError(400, 'failed_precondition', 'stale', [
            staleHeadDetail({ repoId: 'rp_1', ref: 'main', expectedHead: SHA_A, actualHead: SHA_B }),
          ]),
      },
      { verifyExpectedHead: 'never' },
    )
    const err = await c.repo('r').write('f', 'x', { message: 'm', expectedHead: SHA_A }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StaleHeadError)
    expect((err as StaleHeadError).actualHead).toBe(SHA_B)
    expect(fake.calls('WriteFile')).toHaveLength(1)
  })

  it('the token never appears in an error message, even if the server echoes it', async () => {
    const echo: Handler = (_b, req) => connectError(401, 'unauthenticated', `token ${req.headers.authorization} revoked`)
    const { c } = client({ ReadFile: echo, CreateToken: echo })
    for (const call of [() => c.repo('r').read('x'), () => c.createToken({ name: 'n' })]) {
      const err = (await call().catch((e: unknown) => e)) as UnauthenticatedError
      expect(err).toBeInstanceOf(UnauthenticatedError)
      expect(err.message).not.toContain('secretpart')
      expect(JSON.stringify(err.details())).not.toContain('secretpart')
      expect(String(err.stack)).not.toContain('secretpart')
    }
  })

  it('the token never appears in a network error message', async () => {
    const { c } = client({
      Diff: () => {
        throw new TypeError(`fetch failed for Bearer ${TOKEN}`, {
          cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
        })
      },
    }, { retry: { maxRetries: 0 } })
    const err = (await c.repo('r').diff('a', 'b').catch((e: unknown) => e)) as GithostedNetworkError
    expect(err).toBeInstanceOf(GithostedNetworkError)
    expect(err.networkCode).toBe('ECONNRESET')
    expect(err.message).not.toContain('secretpart')
    expect(err.cause).toBeUndefined()
  })

  it('a slow server surfaces as GithostedTimeoutError (not retried)', async () => {
    const { c, fake } = client({ ReadFile: (_b, _r, signal) => hangUntilAborted(signal) }, { timeoutMs: 30 })
    const err = (await c.repo('r').read('x').catch((e: unknown) => e)) as GithostedTimeoutError
    expect(err).toBeInstanceOf(GithostedTimeoutError)
    expect(err.code).toBe('GITHOSTED_TIMEOUT')
    expect(err.status).toBe(504)
    expect(err.message).toContain('30 ms')
    expect(fake.calls('ReadFile')).toHaveLength(1)
  })

  it('a body that stalls past the timeout is also a timeout', async () => {
    const { c } = client(
      {
        Diff: (_b, _r, signal) => {
          const stream = new ReadableStream({
            start(ctrl) {
              ctrl.enqueue(new TextEncoder().encode('{"patch":'))
              signal?.addEventListener('abort', () => ctrl.error(signal.reason))
            },
          })
          return new Response(stream, { status: 200 })
        },
      },
      { timeoutMs: 30 },
    )
    await expect(c.repo('r').diff('a', 'b')).rejects.toBeInstanceOf(GithostedTimeoutError)
  })
})

describe('retries through the client', () => {
  it('RepoBusy on a write is retried with backoff until it succeeds', async () => {
    let n = 0
    const { c, fake, time } = client(
      { WriteFile: () => (n++ < 2 ? repoBusyResponse() : ok({ branch: 'main', commit: SHA_B })) },
      { retry: { baseDelayMs: 100 } },
    )
    const res = await c.repo('r').write('f', 'x', { message: 'm' })
    expect(res.commit).toBe(SHA_B)
    expect(fake.calls('WriteFile')).toHaveLength(3)
    expect(time.sleeps).toEqual([50, 100])
  })

  it('RepoBusy forever gives RepoBusyError after maxRetries+1 attempts', async () => {
    const { c, fake } = client({ WriteFile: () => repoBusyResponse() }, { retry: { maxRetries: 2 } })
    await expect(c.repo('r').write('f', 'x', { message: 'm' })).rejects.toBeInstanceOf(RepoBusyError)
    expect(fake.calls('WriteFile')).toHaveLength(3)
  })

  it('unavailable is retried for reads; a write is reconciled by reading, sent once more, then reported', async () => {
    let reads = 0
    const { c, fake } = client({
      ReadFile: () => (reads++ < 1 ? connectError(503, 'unavailable', 'x') : ok({ content: '', headSha: SHA_A })),
      WriteFile: () => connectError(503, 'unavailable', 'x'),
      Log: () => ok({ commits: [{ hash: SHA_A, subject: 'older' }] }),
    })
    expect((await c.repo('r').read('f')).headSha).toBe(SHA_A)
    expect(fake.calls('ReadFile')).toHaveLength(2)
    const err = await c.repo('r').write('f', 'x', { message: 'm' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GithostedUnavailableError)
    expect((err as Error).message).toMatch(/not in the history; nothing was written as far as can be seen/)
    // Never more than one resend, and each unknown outcome was looked up first.
    expect(fake.calls('WriteFile')).toHaveLength(2)
    expect(fake.calls('Log')).toHaveLength(2)
  })

  it('a reset after the write landed is answered from the history: one commit, and it is ours', async () => {
    let landed = false
    const { c, fake } = client({
      ReadFile: (body) => ok({ content: body.ref === SHA_B && landed ? Buffer.from('x').toString('base64') : '', headSha: SHA_A }),
      WriteFile: () => {
        landed = true
        throw networkFailure('ECONNRESET')
      },
      Log: () => ok({ commits: landed ? [{ hash: SHA_B, subject: 'm', message: 'm\n\nDeploy-Id: 1\n' }, { hash: SHA_A, subject: 'base' }] : [] }),
    })
    await c.repo('r').read('f')
    const res = await c.repo('r').write('f', 'x', { message: 'm\n\nDeploy-Id: 1', expectedHead: SHA_A })
    expect(res.commit).toBe(SHA_B)
    expect(fake.calls('WriteFile')).toHaveLength(1)
  })

  it('a commit with our message but other content is not taken for ours', async () => {
    let writes = 0
    const { c, fake } = client({
      ReadFile: () => ok({ content: Buffer.from('someone else').toString('base64'), headSha: SHA_A }),
      WriteFile: () => {
        if (writes++ === 0) throw networkFailure('ECONNRESET')
        return ok({ branch: 'main', commit: 'c'.repeat(40) })
      },
      Log: () => ok({ commits: [{ hash: SHA_B, subject: 'm', message: 'm' }, { hash: SHA_A, subject: 'base' }] }),
    })
    await c.repo('r').read('f')
    const res = await c.repo('r').write('f', 'x', { message: 'm', expectedHead: SHA_A })
    expect(res.commit).toBe('c'.repeat(40))
    expect(fake.calls('WriteFile')).toHaveLength(2)
  })

  it('learns that the server rejects expectedHead as an unknown field, writes without it and checks the parent', async () => {
    const bodies: unknown[] = []
    const { c, fake } = client({
      ReadFile: () => ok({ content: '' }),
      Log: (body) => ok({ commits: body.ref === SHA_B ? [{ hash: SHA_B, subject: 'm' }, { hash: SHA_A, subject: 'a' }] : [{ hash: SHA_A, subject: 'a' }] }),
      WriteFile: (body) => {
        bodies.push(body)
        if (body.expectedHead) return connectError(400, 'invalid_argument', 'cannot decode message githosted.v1.WriteFileRequest from JSON: key "expectedHead" is unknown')
        return ok({ branch: 'main', commit: SHA_B })
      },
    })
    const res = await c.repo('r').write('f', 'x', { message: 'm', expectedHead: SHA_A })
    expect(res.commit).toBe(SHA_B)
    expect(bodies.map((b) => 'expectedHead' in (b as object))).toEqual([true, false])
    expect(c.capabilities.expectedHead).toBe('rejected')
    // Remembered per base URL: a new client for the same server does not try again.
    const again = new Client({ token: TOKEN, baseUrl: 'http://githosted.test', fetch: fake.fetch })
    await again.repo('r').write('f', 'x', { message: 'm', expectedHead: SHA_A })
    expect(bodies).toHaveLength(3)
    expect('expectedHead' in (bodies[2] as object)).toBe(false)
  })

  it('concurrent writes that all carried expectedHead before the refusal was learned each resend once without it', async () => {
    const bodies: Array<Record<string, unknown>> = []
    const { c } = client({
      ReadFile: () => ok({ content: '' }),
      Log: (body) => ok({ commits: typeof body.ref === 'string' && body.ref !== SHA_A ? [{ hash: body.ref, subject: 'm' }, { hash: SHA_A, subject: 'a' }] : [{ hash: SHA_A, subject: 'a' }] }),
      WriteFile: (body) => {
        bodies.push(body)
        if (body.expectedHead) return connectError(400, 'invalid_argument', 'cannot decode message githosted.v1.WriteFileRequest from JSON: key "expectedHead" is unknown')
        return ok({ branch: 'main', commit: String(body.path).padEnd(40, '0').slice(0, 40).replace(/[^0-9a-f]/g, 'e') })
      },
    })
    const results = await Promise.all(['a', 'b', 'c'].map((p) => c.repo('r').write(p, 'x', { message: 'm', expectedHead: SHA_A })))
    expect(results).toHaveLength(3)
    // All three were sent with the field before any refusal came back, then once each without it.
    expect(bodies.filter((b) => 'expectedHead' in b)).toHaveLength(3)
    expect(bodies.filter((b) => !('expectedHead' in b))).toHaveLength(3)
  })

  it('a refused connection is retried even for a plain write (it never left us)', async () => {
    let n = 0
    const { c, fake } = client({
      CreateRepo: () => {
        if (n++ < 2) throw networkFailure('ECONNREFUSED')
        return ok({ repo: { id: 'rp_1' } })
      },
    })
    expect((await c.createRepo({ name: 'n' })).id).toBe('rp_1')
    expect(fake.calls('CreateRepo')).toHaveLength(3)
  })

  it('NotFound and permission errors are never retried', async () => {
    const { c, fake } = client({
      ReadFile: () => connectError(404, 'not_found', 'no such file'),
      ListFiles: () => connectError(403, 'permission_denied', 'no'),
    })
    await expect(c.repo('r').read('x')).rejects.toBeInstanceOf(NotFoundError)
    await expect(c.repo('r').ls()).rejects.toMatchObject({ code: 'GITHOSTED_PERMISSION_DENIED' })
    expect(fake.requests).toHaveLength(2)
  })
})

describe('gitBlobSha', () => {
  it('matches git hash-object', async () => {
    const { execFileSync } = await import('node:child_process')
    const input = Buffer.from('{"image": "app:1"}\n\u00e9')
    const expected = execFileSync('git', ['hash-object', '--stdin'], { input }).toString().trim()
    expect(gitBlobSha(input)).toBe(expected)
    const empty = execFileSync('git', ['hash-object', '--stdin'], { input: '' }).toString().trim()
    expect(gitBlobSha(new Uint8Array())).toBe(empty)
  })
})
