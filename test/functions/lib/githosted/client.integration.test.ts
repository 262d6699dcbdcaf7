/**
 * The client against the local githosted over real HTTP on 127.0.0.1, in both
 * server modes: normal (headSha + enforced expectedHead) and compat (like
 * today's hosted server: neither).
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Client,
  ExpectedHeadViolationError,
  GithostedError,
  GithostedNetworkError,
  GithostedTimeoutError,
  GithostedUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  RepoBusyError,
  StaleHeadError,
  UnauthenticatedError,
  type ClientConfig,
  type RepoHandle,
} from '../../../../functions/lib/githosted/index.js'
import { startTestGithosted, type TestGithosted } from '../../../helpers/githosted.js'
import { virtualTime } from './fake-connect.js'

const SEED = 'deploy-configs'
const STAGING = 'environments/staging.json'

/** Counts requests per RPC method and lets a test act just before one is sent. */
function countingFetch(before?: (method: string) => Promise<void> | void) {
  const counts: Record<string, number> = {}
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const method = String(input).split('/').pop() ?? ''
    counts[method] = (counts[method] ?? 0) + 1
    await before?.(method)
    return fetch(input, init)
  }) as typeof fetch
  return { fetch: f, counts }
}

function gitParents(gitDir: string, ref = 'main'): Map<string, { parent: string; subject: string }> {
  const out = execFileSync('git', ['--git-dir', gitDir, 'log', '--format=%H %P%x09%s', ref]).toString()
  const map = new Map<string, { parent: string; subject: string }>()
  for (const line of out.trim().split('\n')) {
    const [shas = '', subject = ''] = line.split('\t')
    const [hash = '', parent = ''] = shas.split(' ')
    map.set(hash, { parent, subject })
  }
  return map
}

let repoCounter = 0
async function freshRepo(c: Client, content: string): Promise<{ slug: string; repo: RepoHandle }> {
  const slug = `it-${Date.now().toString(36)}-${repoCounter++}`
  await c.createRepo({ name: slug, slug })
  const repo = c.repo(slug)
  await repo.write('data.json', content, { message: 'init' })
  return { slug, repo }
}

describe.each([
  ['normal', false],
  ['compat', true],
] as const)('client against the local server (%s mode)', (mode, compat) => {
  let server: TestGithosted
  let client: Client
  const mk = (extra: Partial<ClientConfig> = {}) =>
    new Client({ token: server.bootstrapToken, baseUrl: server.url, ...extra })

  beforeAll(async () => {
    server = await startTestGithosted({ compat })
    client = mk()
  })
  afterAll(async () => {
    await server?.close()
  })

  it('ls lists one level with joined paths', async () => {
    const root = await client.repo(SEED).ls()
    expect(root).toContainEqual({ name: 'environments', path: 'environments', type: 'directory' })
    const envs = await client.repo(SEED).ls('environments/')
    expect(envs.map((e) => [e.path, e.type]).sort()).toEqual([
      ['environments/production.json', 'file'],
      ['environments/staging.json', 'file'],
    ])
  })

  it('read, write with expectedHead, log, diff, listBranches', async () => {
    const repo = client.repo(SEED)
    const f = await repo.read(STAGING)
    expect(JSON.parse(f.content).image).toBe('ghcr.io/acme/app:1.0.0')
    const [tip] = await repo.log({ limit: 1 })
    expect(f.headSha).toBe(tip?.sha)
    const blob = execFileSync('git', ['--git-dir', server.repoGitDir(SEED), 'rev-parse', `${f.headSha}:${STAGING}`])
    expect(f.blobSha).toBe(blob.toString().trim())

    const next = f.content.replace('app:1.0.0', 'app:1.1.0')
    const w = await repo.write(STAGING, next, {
      message: 'deploy staging\n\nDeploy-Image: app:1.1.0',
      expectedHead: f.headSha,
    })
    expect(w.branch).toBe('main')
    const again = await repo.read(STAGING)
    expect(again.content).toBe(next)
    expect(again.headSha).toBe(w.commit)

    const log = await repo.log({ path: STAGING, limit: 10 })
    expect(log[0]?.sha).toBe(w.commit)
    expect(log[0]?.subject).toBe('deploy staging')
    if (compat) expect(log[0]?.message).toBeUndefined()
    else expect(log[0]?.message).toContain('Deploy-Image: app:1.1.0')
    expect(log.every((c) => c.subject.includes('staging'))).toBe(true)

    const patch = await repo.diff(f.headSha, w.commit)
    expect(patch).toContain('-  "image": "ghcr.io/acme/app:1.0.0"')
    expect(patch).toContain('+  "image": "ghcr.io/acme/app:1.1.0"')

    const branches = await repo.listBranches()
    expect(branches).toEqual([{ name: 'main', commit: w.commit, isDefault: true }])
  })

  it('a stale expectedHead gives StaleHeadError with the right actualHead; nothing written', async () => {
    const repo = client.repo(SEED)
    const f = await repo.read(STAGING)
    const moved = await repo.write('environments/production.json', '{"image":"x"}\n', { message: 'other' })
    const err = (await repo
      .write(STAGING, 'clobber', { message: 'stale', expectedHead: f.headSha })
      .catch((e: unknown) => e)) as StaleHeadError
    expect(err).toBeInstanceOf(StaleHeadError)
    expect(err.expectedHead).toBe(f.headSha)
    expect(err.actualHead).toBe(moved.commit)
    expect((await repo.read(STAGING)).content).toBe(f.content)
  })

  it('delete uses DeleteFile: the file is gone, not emptied', async () => {
    const repo = client.repo(SEED)
    await repo.write('holds/production.json', '{"reason":"freeze"}\n', { message: 'hold' })
    const f = await repo.read('holds/production.json')
    const d = await repo.delete('holds/production.json', { message: 'release', expectedHead: f.headSha })
    expect(d.commit).not.toBe(f.headSha)
    await expect(repo.read('holds/production.json')).rejects.toBeInstanceOf(NotFoundError)
    expect((await repo.ls()).map((e) => e.name)).not.toContain('holds')
  })

  it('not_found for a missing file or repo', async () => {
    await expect(client.repo(SEED).read('nope.json')).rejects.toBeInstanceOf(NotFoundError)
    await expect(client.repo('no-such-repo').ls()).rejects.toBeInstanceOf(NotFoundError)
  })

  it('createRepo; a duplicate slug is already_exists', async () => {
    const info = await client.createRepo({ name: `made-${mode}` })
    expect(info.id).toMatch(/^rp_/)
    expect(info.defaultBranch).toBe('main')
    const repo = client.repo(info.id)
    await repo.write('a.txt', 'hello', { message: 'first' })
    expect((await repo.read('a.txt')).content).toBe('hello')
    const dup = (await client.createRepo({ name: `made-${mode}` }).catch((e: unknown) => e)) as GithostedError
    expect(dup).toBeInstanceOf(GithostedError)
    expect(dup.code).toBe('GITHOSTED_ALREADY_EXISTS')
  })

  it('createToken, listTokens, revokeToken; permissions enforced', async () => {
    const issued = await client.createToken({
      name: `ci-read-${mode}`,
      repoAllowlist: [SEED],
      permission: 'read',
      ttlHours: 1,
    })
    expect(issued.record).toMatchObject({ kind: 'repo', permission: 'read', repoAllowlist: [SEED], prefix: 'gr' })
    expect(issued.token.startsWith('gr_')).toBe(true)
    expect(issued.record.expiresAt).toBeInstanceOf(Date)

    const reader = mk({ token: issued.token })
    expect((await reader.repo(SEED).read(STAGING)).content).toContain('image')
    const denied = await reader.repo(SEED).write(STAGING, 'x', { message: 'no' }).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PermissionDeniedError)
    expect((denied as Error).message).not.toContain(issued.token)

    const listed = await client.listTokens()
    expect(listed.tokens.map((t) => t.id)).toContain(issued.record.id)

    await client.revokeToken(issued.record.id)
    const after = await reader.repo(SEED).read(STAGING).catch((e: unknown) => e)
    expect(after).toBeInstanceOf(UnauthenticatedError)
    expect((after as UnauthenticatedError).status).toBe(502)
  })

  it('exchangeToken mints a read repo token by default', async () => {
    const issued = await client.exchangeToken({ repoAllowlist: [SEED], ttlSeconds: 600, subject: 'test:it' })
    expect(issued.record).toMatchObject({ kind: 'repo', permission: 'read', repoAllowlist: [SEED] })
    const reader = mk({ token: issued.token })
    expect((await reader.repo(SEED).ls('environments')).length).toBe(2)
  })

  it('a write racing in between pre-check and write is caught (server or client side)', async () => {
    const { slug, repo: setupRepo } = await freshRepo(client, '{}\n')
    const other = mk().repo(slug)
    let intruder = ''
    const racing = countingFetch(async (method) => {
      if (method === 'WriteFile' && !intruder) {
        intruder = (await other.write('other.txt', 'x', { message: 'intruder' })).commit
      }
    })
    const a = mk({ fetch: racing.fetch }).repo(slug)
    const f = await a.read('data.json')
    expect(f.headSha).toBe((await setupRepo.log({ limit: 1 }))[0]?.sha)
    const err = await a.write('data.json', '{"a":1}\n', { message: 'a', expectedHead: f.headSha }).catch((e: unknown) => e)
    if (compat) {
      // The server ignored expectedHead: the write landed on top of the intruder.
      expect(err).toBeInstanceOf(ExpectedHeadViolationError)
      const v = err as ExpectedHeadViolationError
      expect(v.expectedHead).toBe(f.headSha)
      expect(v.actualParent).toBe(intruder)
      expect(gitParents(server.repoGitDir(slug)).get(v.commit)?.parent).toBe(intruder)
      expect(racing.counts.Log).toBeGreaterThanOrEqual(2)
    } else {
      expect(err).toBeInstanceOf(StaleHeadError)
      expect((err as StaleHeadError).actualHead).toBe(intruder)
    }
  })

  it('20 concurrent read-modify-write loops lose nothing', { timeout: 180_000 }, async () => {
    const { slug, repo } = await freshRepo(client, '{}\n')
    type Outcome = { kind: 'ok' | 'violation'; commit: string; expectedHead: string; actualParent?: string }
    const outcomes: Outcome[] = []
    let stale = 0
    let busy = 0

    const writer = async (i: number) => {
      const key = `w${String(i).padStart(2, '0')}`
      // Each writer has its own client, as concurrent CI jobs would.
      const r = mk().repo(slug)
      const lost: string[] = [] // commits whose content a clobbering write of ours dropped
      for (let attempt = 0; attempt < 300; attempt++) {
        const f = await r.read('data.json')
        const obj = JSON.parse(f.content) as Record<string, string>
        for (const sha of lost) Object.assign(obj, JSON.parse((await r.read('data.json', { ref: sha })).content))
        obj[key] = key
        const next = JSON.stringify(obj, Object.keys(obj).sort(), 2) + '\n'
        if (next === f.content) return
        try {
          const w = await r.write('data.json', next, { message: `add ${key}`, expectedHead: f.headSha })
          outcomes.push({ kind: 'ok', commit: w.commit, expectedHead: f.headSha })
          return
        } catch (err) {
          if (err instanceof ExpectedHeadViolationError) {
            outcomes.push({ kind: 'violation', commit: err.commit, expectedHead: err.expectedHead, actualParent: err.actualParent })
            lost.push(err.actualParent)
            continue
          }
          if (err instanceof StaleHeadError) {
            stale++
            continue
          }
          if (err instanceof RepoBusyError) {
            busy++
            continue
          }
          throw err
        }
      }
      throw new Error(`writer ${key} gave up`)
    }
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer(i)))

    const final = JSON.parse((await repo.read('data.json')).content) as Record<string, string>
    expect(Object.keys(final).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, '0')}`))

    // Every writer commit in the real history is accounted for, with the right verdict.
    const history = gitParents(server.repoGitDir(slug))
    const byCommit = new Map(outcomes.map((o) => [o.commit, o]))
    const writerCommits = [...history].filter(([, c]) => c.subject.startsWith('add '))
    expect(writerCommits.length).toBe(outcomes.length)
    for (const [sha, c] of writerCommits) {
      const o = byCommit.get(sha)
      expect(o, `commit ${sha} has no recorded outcome`).toBeDefined()
      if (o?.kind === 'ok') expect(c.parent).toBe(o.expectedHead)
      else {
        expect(c.parent).toBe(o?.actualParent)
        expect(c.parent).not.toBe(o?.expectedHead)
      }
    }
    const violations = outcomes.filter((o) => o.kind === 'violation').length
    if (!compat) expect(violations).toBe(0)
    console.log(`[${mode}] 20 writers: ${outcomes.length} commits, ${violations} violations, ${stale} stale, ${busy} busy`)
  })
})

describe('faults, retries and timeouts (normal mode)', () => {
  let server: TestGithosted
  const mk = (extra: Partial<ClientConfig> = {}) =>
    new Client({ token: server.bootstrapToken, baseUrl: server.url, ...virtualTime().deps, ...extra })

  beforeAll(async () => {
    server = await startTestGithosted()
  })
  afterAll(async () => {
    await server?.close()
  })

  it('injected RepoBusy is retried until the write goes through', async () => {
    const counting = countingFetch()
    const repo = mk({ fetch: counting.fetch }).repo(SEED)
    server.setFaults({ repoBusy: { next: 2 } })
    const w = await repo.write('busy.txt', 'ok', { message: 'busy' })
    server.setFaults({})
    expect(w.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(counting.counts.WriteFile).toBe(3)
  })

  it('RepoBusy that does not clear ends in RepoBusyError after maxRetries', async () => {
    const counting = countingFetch()
    const repo = mk({ fetch: counting.fetch, retry: { maxRetries: 2 } }).repo(SEED)
    server.setFaults({ repoBusy: { rate: 1 } })
    const err = await repo.write('busy.txt', 'no', { message: 'busy' }).catch((e: unknown) => e)
    server.setFaults({})
    expect(err).toBeInstanceOf(RepoBusyError)
    expect((err as RepoBusyError).repoId).toMatch(/^rp_/)
    expect(counting.counts.WriteFile).toBe(3)
  })

  it('retries stop at maxTotalMs (virtual clock) before maxRetries', async () => {
    const counting = countingFetch()
    // random 0.5: delays 5, 10, 20, 40, 80 (sum 155); the next, 160, would pass 200.
    const repo = mk({ fetch: counting.fetch, retry: { maxRetries: 100, baseDelayMs: 10, maxTotalMs: 200 } }).repo(SEED)
    server.setFaults({ repoBusy: { rate: 1 } })
    await expect(repo.write('busy.txt', 'no', { message: 'busy' })).rejects.toBeInstanceOf(RepoBusyError)
    server.setFaults({})
    expect(counting.counts.WriteFile).toBe(6)
  })

  it('injected unavailable is retried for reads, within bounds', async () => {
    const counting = countingFetch((method) => {
      if (method === 'ReadFile' && counting.counts.ReadFile === 3) server.setFaults({})
    })
    const repo = mk({ fetch: counting.fetch }).repo(SEED)
    server.setFaults({ errors: { ReadFile: { code: 'unavailable', rate: 1 } } })
    const f = await repo.read(STAGING)
    expect(f.content).toContain('image')
    expect(counting.counts.ReadFile).toBe(3)

    const bounded = countingFetch()
    server.setFaults({ errors: { ReadFile: { code: 'unavailable', rate: 1 } } })
    const err = await mk({ fetch: bounded.fetch, retry: { maxRetries: 3 } })
      .repo(SEED)
      .read(STAGING)
      .catch((e: unknown) => e)
    server.setFaults({})
    expect(err).toBeInstanceOf(GithostedUnavailableError)
    expect((err as GithostedUnavailableError).code).toBe('GITHOSTED_UNAVAILABLE')
    expect(bounded.counts.ReadFile).toBe(4)
  })

  it('unavailable on a write is reconciled by reading: sent once more only when its commit is not there', async () => {
    const counting = countingFetch()
    const repo = mk({ fetch: counting.fetch }).repo(SEED)
    const f = await repo.read(STAGING)
    server.setFaults({ errors: { WriteFile: { code: 'unavailable', rate: 1 } } })
    await expect(repo.write('u.txt', 'x', { message: 'plain' })).rejects.toBeInstanceOf(GithostedUnavailableError)
    expect(counting.counts.WriteFile).toBe(2)
    expect(counting.counts.Log).toBeGreaterThanOrEqual(2)
    server.setFaults({})
    const w = await repo.write(STAGING, f.content, { message: 'guarded', expectedHead: f.headSha })
    expect(counting.counts.WriteFile).toBe(3)
    expect(w.commit).toMatch(/^[0-9a-f]{40}$/)
  })

  it('server latency beyond the client timeout surfaces as GithostedTimeoutError', async () => {
    server.setFaults({ latencyMs: 400 })
    const err = await mk({ timeoutMs: 100 }).repo(SEED).listBranches().catch((e: unknown) => e)
    server.setFaults({})
    expect(err).toBeInstanceOf(GithostedTimeoutError)
    expect((err as GithostedTimeoutError).status).toBe(504)
  })

  it('a refused connection is a GithostedNetworkError, retried within bounds', async () => {
    const other = await startTestGithosted()
    const url = other.url
    await other.close()
    const counting = countingFetch()
    const c = new Client({ token: 'x', baseUrl: url, fetch: counting.fetch, ...virtualTime().deps, retry: { maxRetries: 2 } })
    const err = await c.repo(SEED).ls().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GithostedNetworkError)
    expect((err as GithostedNetworkError).networkCode).toBe('ECONNREFUSED')
    expect((err as GithostedNetworkError).mayHaveReachedServer).toBe(false)
    expect(counting.counts.ListFiles).toBe(3)
  })
})
