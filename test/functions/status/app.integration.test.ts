/**
 * The status app against the local githosted over real HTTP: seed data,
 * deploys through the deploy core (trailers), today's-server compat mode
 * (subjects only), and the read-only proof for its token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../functions/lib/observability/logger.js'
import { createAuthenticator } from '../../../functions/lib/auth/authenticator.js'
import { generateBrokerKey, hashBrokerKey } from '../../../functions/lib/auth/broker-keys.js'
import { MemoryReplayStore } from '../../../functions/lib/auth/replay.js'
import { applyConfigUpdate } from '../../../functions/lib/deploys/apply.js'
import { Client, PermissionDeniedError } from '../../../functions/lib/githosted/index.js'
import { staticSecret } from '../../../functions/lib/secrets/index.js'
import type { HistoryReport, StatusReport } from '../../../functions/lib/status/types.js'
import { createStatusApp } from '../../../functions/status/app.js'
import { readClientFactory } from '../../../functions/status/deps.js'
import { startTestGithosted, testProfile, type TestGithosted } from '../../helpers/githosted.js'
import type { ProfileName } from '../../../local/githosted/index.js'
import { serveApp, type ServedApp } from '../../helpers/serve-app.js'

const REPO = 'deploy-configs'
const SEED_IMAGE = 'ghcr.io/acme/app:1.0.0'

interface World {
  gh: TestGithosted
  served: ServedApp
  auth: { authorization: string }
  readToken: string
  writer: Client
  deploy(environment: string, image: string, requester?: string): Promise<string>
  get<T>(path: string, headers?: Record<string, string>): Promise<{ status: number; body: T; etag: string | null }>
}

async function startWorld(options: { profile?: ProfileName; extraRepos?: string[] } = {}): Promise<World> {
  // Seeded in the documented profile; the profile under test applies from the first status call.
  const gh = await startTestGithosted({ profile: 'documented' })
  const writer = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  for (const slug of options.extraRepos ?? []) await writer.createRepo({ name: slug, slug })
  const readToken = await gh.createToken({
    kind: 'repo',
    permission: 'read',
    repoAllowlist: [REPO, ...(options.extraRepos ?? [])],
    name: 'dashboard',
  })
  if (options.profile) gh.setProfile(options.profile)
  const brokerKey = generateBrokerKey()
  const app = createStatusApp({
    readToken: staticSecret(readToken),
    githosted: readClientFactory(gh.url),
    authenticator: createAuthenticator({
      brokerKeys: () => [{ name: 'ci-test', sha256: hashBrokerKey(brokerKey) }],
      replayStore: new MemoryReplayStore(),
    }),
    repos: [REPO, ...(options.extraRepos ?? [])],
    logger: createLogger({ sink: () => {} }),
  })
  const served = await serveApp(app.fetch)
  const auth = { authorization: `Bearer ${brokerKey}` }
  return {
    gh,
    served,
    auth,
    readToken,
    writer,
    async deploy(environment, image, requester = 'key:ci-test') {
      const result = await applyConfigUpdate(
        { repo: writer.repo(REPO), repoName: REPO, logger: createLogger({ sink: () => {} }) },
        {
          environment,
          change: { image },
          source: 'api',
          requester,
          runUrl: `https://ci.example.com/runs/${image.split(':').pop()}`,
        },
      )
      return result.commit
    },
    async get<T>(path: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${served.url}${path}`, { headers: { ...auth, ...headers } })
      const text = await res.text()
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, etag: res.headers.get('etag') }
    },
  }
}

async function stopWorld(w: World | undefined) {
  await w?.served.close()
  await w?.gh.close()
}

describe('status API on the local githosted', () => {
  let w: World
  beforeAll(async () => {
    // Trailers need Log's full messages: the documented profile.
    w = await startWorld({ profile: 'documented', extraRepos: ['empty-configs', 'docs-only'] })
  })
  afterAll(() => stopWorld(w))

  it('reports the seed environments', async () => {
    const { status, body, etag } = await w.get<StatusReport>(`/v1/status?repo=${REPO}`)
    expect(status).toBe(200)
    expect(body.environments.map((e) => [e.environment, e.image])).toEqual([
      ['production', SEED_IMAGE],
      ['staging', SEED_IMAGE],
    ])
    const [head] = await w.writer.repo(REPO).log({ limit: 1 })
    expect(body.headSha).toBe(head!.sha)
    expect(body.environments[1]!.lastCommit?.subject).toBe('Seed environments/staging.json')
    expect(body.environments.every((e) => e.headSha === head!.sha && !e.held)).toBe(true)
    expect(etag).toBe(`W/"status.h0-${head!.sha}"`)
    expect((await w.get(`/v1/status`, { 'if-none-match': etag! })).status).toBe(304)
  })

  it('shows deploys in order with who, from -> to and the run link, and moves the ETag', async () => {
    const before = (await w.get<StatusReport>('/v1/status')).etag
    await w.deploy('staging', 'ghcr.io/acme/app:1.1.0', 'github:acme/app:run:1')
    await w.deploy('production', 'ghcr.io/acme/app:1.1.0')
    const last = await w.deploy('staging', 'ghcr.io/acme/app:1.2.0', 'github:acme/app:run:3')

    const status = await w.get<StatusReport>('/v1/status', { 'if-none-match': before! })
    expect(status.status).toBe(200)
    const staging = status.body.environments.find((e) => e.environment === 'staging')!
    expect(staging.image).toBe('ghcr.io/acme/app:1.2.0')
    expect(staging.lastCommit?.sha).toBe(last)
    expect(staging.lastCommit?.trailers).toMatchObject({ environment: 'staging', source: 'api', requester: 'github:acme/app:run:3' })

    const history = await w.get<HistoryReport>('/v1/status/staging/history?limit=10')
    expect(history.status).toBe(200)
    expect(history.body.deploys.map((d) => [d.who, d.from, d.to, d.basis])).toEqual([
      ['github:acme/app:run:3', 'ghcr.io/acme/app:1.1.0', 'ghcr.io/acme/app:1.2.0', 'trailers'],
      ['github:acme/app:run:1', SEED_IMAGE, 'ghcr.io/acme/app:1.1.0', 'trailers'],
      ['githosted-local seed', null, SEED_IMAGE, 'content'],
    ])
    expect(history.body.deploys[0]!.runUrl).toBe('https://ci.example.com/runs/1.2.0')
    expect(history.body.deploys[0]!.sha).toBe(last)
  })

  it('shows a hold written to the repo', async () => {
    await w.writer.repo(REPO).write('holds/production.json', JSON.stringify({ reason: 'release freeze', by: 'ops' }), {
      message: 'Hold production',
    })
    const { body } = await w.get<StatusReport>('/v1/status')
    expect(body.environments.find((e) => e.environment === 'production')).toMatchObject({
      held: true,
      hold: { reason: 'release freeze', by: 'ops' },
    })
    expect(body.environments.find((e) => e.environment === 'staging')!.held).toBe(false)
  })

  it('says what is wrong for an empty repo and a repo without environments/', async () => {
    const empty = await w.get<StatusReport>('/v1/status?repo=empty-configs')
    expect(empty.status).toBe(200)
    expect(empty.body.problem?.code).toBe('REPO_EMPTY')
    await w.writer.repo('docs-only').write('README.md', '# configs\n', { message: 'docs' })
    const noDir = await w.get<StatusReport>('/v1/status?repo=docs-only')
    expect(noDir.status).toBe(200)
    expect(noDir.body.problem?.code).toBe('ENVIRONMENTS_DIR_MISSING')
  })

  it('cannot write: its token is refused by githosted and it has no write route', async () => {
    const client = readClientFactory(w.gh.url)(w.readToken)
    const repo = client.repo(REPO)
    const write = repo.write('environments/staging.json', '{"image":"evil"}\n', { message: 'should fail' })
    await expect(write).rejects.toBeInstanceOf(PermissionDeniedError)
    await expect(write).rejects.toMatchObject({ connectCode: 'permission_denied' })
    await expect(repo.delete('environments/staging.json', { message: 'should fail' })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    )
    const post = await fetch(`${w.served.url}/v1/status`, { method: 'POST', headers: w.auth, body: '{}' })
    expect(post.status).toBe(405)
    const staging = await w.writer.repo(REPO).read('environments/staging.json')
    expect(staging.content).not.toContain('evil')
  })

  it('needs caller authentication over HTTP', async () => {
    const res = await fetch(`${w.served.url}/v1/status`)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('status API on a server like today\'s githosted (compat: subjects only)', () => {
  let w: World
  beforeAll(async () => {
    // The suite's profile when it is one without our extensions, else today's hosted server.
    w = await startWorld({ profile: testProfile() === 'documented' ? 'hosted-today' : testProfile() })
  })
  afterAll(() => stopWorld(w))

  it('derives who and from -> to from file contents when Log has no message', async () => {
    await w.deploy('staging', 'ghcr.io/acme/app:2.0.0')
    await w.deploy('staging', 'ghcr.io/acme/app:2.1.0')
    const history = await w.get<HistoryReport>('/v1/status/staging/history?limit=2')
    expect(history.status).toBe(200)
    expect(history.body.deploys.map((d) => [d.from, d.to, d.basis])).toEqual([
      ['ghcr.io/acme/app:2.0.0', 'ghcr.io/acme/app:2.1.0', 'content'],
      [SEED_IMAGE, 'ghcr.io/acme/app:2.0.0', 'content'],
    ])
    // who degrades to the commit author (the broker's identity), not the requester
    expect(history.body.deploys[0]!.who).toBe('githosted-ci-broker')

    const status = await w.get<StatusReport>('/v1/status')
    const staging = status.body.environments.find((e) => e.environment === 'staging')!
    expect(staging.image).toBe('ghcr.io/acme/app:2.1.0')
    expect(staging.lastCommit?.trailers).toBeNull()
    expect(staging.headSha).toBe(status.body.headSha)
  })
})

describe('history: one row per change to the environment', () => {
  for (const compat of [false, true]) {
    describe(compat ? 'subjects only (compat)' : 'full messages', () => {
      let w: World
      beforeAll(async () => {
        w = await startWorld({ profile: compat ? 'hosted-today' : 'documented' })
      })
      afterAll(() => stopWorld(w))

      it('shows key-only changes with before -> after, and leaves out reformats and repair commits', async () => {
        const repo = w.writer.repo(REPO)
        const set = await applyConfigUpdate(
          { repo, repoName: REPO, logger: createLogger({ sink: () => {} }) },
          { environment: 'staging', change: { set: { '/replicas': 6 } }, source: 'api', requester: 'key:ops' },
        )
        const file = await repo.read('environments/staging.json')
        const doc = JSON.parse(file.content) as Record<string, unknown>
        // Same values, other formatting: not a change to the environment.
        await repo.write('environments/staging.json', JSON.stringify(doc) + '\n', { message: 'Reformat staging' })
        // A repair commit (as deploys/deploy-message.ts names them) is bookkeeping, not a deploy.
        await repo.write('environments/staging.json', JSON.stringify({ ...doc, replicas: 7 }, null, 2) + '\n', {
          message: `Restore changes to staging overwritten by ${'a'.repeat(12)}`,
        })
        await w.deploy('staging', 'ghcr.io/acme/app:3.0.0')

        const history = await w.get<HistoryReport>('/v1/status/staging/history?limit=3')
        expect(history.status).toBe(200)
        const rows = history.body.deploys
        expect(rows.map((d) => d.subject)).not.toContain('Reformat staging')
        expect(rows.some((d) => d.subject.startsWith('Restore changes'))).toBe(false)
        expect(rows).toHaveLength(3)
        expect(rows[0]!.changes).toEqual([{ pointer: '/image', from: SEED_IMAGE, to: 'ghcr.io/acme/app:3.0.0' }])
        expect(rows[1]!.sha).toBe(set.commit)
        expect(rows[1]!.changes).toHaveLength(1)
        expect(rows[1]!.changes[0]).toMatchObject({ pointer: '/replicas', to: 6 })
        expect(rows[1]!.changes[0]!.from).not.toBe(6)
        // A key-only change still says which image was running.
        expect([rows[1]!.from, rows[1]!.to]).toEqual([SEED_IMAGE, SEED_IMAGE])
        expect(rows[2]!.changes.map((c) => c.pointer)).toContain('/image')
      })
    })
  }
})
