/**
 * A connection reset AFTER a write landed, against the real local server in
 * every profile: the client finds its own commit by reading instead of
 * resending, so there is exactly one commit and the answer names it; a deploy
 * through the same fault answers changed:true with that commit.
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyConfigUpdate } from '../../../../functions/lib/deploys/apply.js'
import { RecentDeploys } from '../../../../functions/lib/deploys/recent.js'
import { Client } from '../../../../functions/lib/githosted/index.js'
import { PROFILE_NAMES, SEED_REPO } from '../../../../local/githosted/index.js'
import { startTestGithosted, type TestGithosted } from '../../../helpers/githosted.js'

const STAGING = 'environments/staging.json'

function gitLog(gh: TestGithosted): string[] {
  return execFileSync('git', ['--git-dir', gh.repoGitDir(SEED_REPO), 'log', '--format=%H', 'main']).toString().trim().split('\n')
}

describe.each(PROFILE_NAMES)('reset after a landed write (profile %s)', (profile) => {
  let gh: TestGithosted
  let client: Client
  beforeAll(async () => {
    gh = await startTestGithosted({ profile })
    client = new Client({ token: gh.bootstrapToken, baseUrl: gh.url })
  })
  afterAll(() => gh.close())

  it('a guarded write: exactly one commit, and the answer is that commit', async () => {
    const repo = client.repo(SEED_REPO)
    const f = await repo.read(STAGING)
    const before = gitLog(gh)
    gh.setFaults({ resetAfterWrite: { next: 1 } })
    const res = await repo.write(STAGING, f.content.replace('}', ', "x": 1}'), { message: `guarded ${profile}\n\nWrite-Test: 1`, expectedHead: f.headSha })
    gh.setFaults({})
    const after = gitLog(gh)
    expect(after).toHaveLength(before.length + 1)
    expect(res.commit).toBe(after[0])
  })

  it('a deploy: changed with its own commit, no duplicate', async () => {
    const repo = client.repo(SEED_REPO)
    const before = gitLog(gh)
    gh.setFaults({ resetAfterWrite: { next: 1 } })
    const r = await applyConfigUpdate(
      { repo, repoName: SEED_REPO, recent: new RecentDeploys() },
      { environment: 'staging', change: { image: `ghcr.io/acme/app:${profile}` }, source: 'api', requester: 'test' },
    )
    gh.setFaults({})
    const after = gitLog(gh)
    expect(r.changed).toBe(true)
    expect(after).toHaveLength(before.length + 1)
    expect(r.commit).toBe(after[0])
    expect(JSON.parse((await repo.read(STAGING)).content).image).toBe(`ghcr.io/acme/app:${profile}`)
  })
})
