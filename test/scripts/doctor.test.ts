/**
 * `npm run doctor` against every local githosted profile: what it observes
 * must be what the profile is, the scratch repo is gone afterwards, a named
 * repo gets no change, and the CLI exits non-zero when the broker cannot
 * work (unreachable, a token that cannot mint).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROFILE_NAMES, SEED_REPO, type ProfileName } from '../../local/githosted/index.js'
import { runDoctor, type DoctorReport } from '../../scripts/doctor/probe.js'
import { createNodeTransport } from '../../functions/lib/githosted/node-transport.js'
import { startTestGithosted, type TestGithosted } from '../helpers/githosted.js'

const run = promisify(execFile)

const EXPECTED: Record<ProfileName, Record<string, string>> = {
  documented: { reachable: 'yes, HTTP/1.1', 'Commit.message': 'present', 'headSha on reads': 'returned', expectedHead: 'enforced', DeleteFile: 'implemented', ListBranches: 'implemented' },
  'hosted-today': { reachable: 'yes, HTTP/1.1', 'Commit.message': 'absent', 'headSha on reads': 'absent', expectedHead: 'ignored', DeleteFile: 'implemented', ListBranches: 'implemented' },
  'strict-schema': { reachable: 'yes, HTTP/1.1', 'Commit.message': 'absent', 'headSha on reads': 'absent', expectedHead: 'rejected', DeleteFile: 'implemented', ListBranches: 'implemented' },
  minimal: { reachable: 'yes, HTTP/2', 'Commit.message': 'absent', 'headSha on reads': 'absent', expectedHead: 'rejected', DeleteFile: 'unimplemented', ListBranches: 'unimplemented' },
}

const observed = (r: DoctorReport, name: string) => r.checks.find((c) => c.name === name)?.observed ?? '(missing)'

describe.each(PROFILE_NAMES)('doctor against the %s profile', (profile) => {
  let gh: TestGithosted
  beforeAll(async () => {
    gh = await startTestGithosted({ profile })
  })
  afterAll(() => gh.close())

  it('reports each capability as the profile has it, says it is safe, and leaves no scratch repo', async () => {
    const transport = createNodeTransport()
    try {
      const report = await runDoctor({ url: gh.url, token: gh.bootstrapToken, transport })
      for (const [name, prefix] of Object.entries(EXPECTED[profile])) expect(observed(report, name), name).toMatch(new RegExp(`^${prefix}`))
      expect(observed(report, 'ExchangeToken')).toBe('implemented')
      expect(report.safe).toBe(true)
      expect(report.checks.filter((c) => c.verdict === 'unsafe')).toEqual([])
      // The scratch repo was created and deleted again: only the seeded repo is left.
      expect(readdirSync(join(gh.dataDir, 'repos'))).toEqual([basename(gh.repoGitDir(SEED_REPO))])
    } finally {
      transport.close()
    }
  })

  it('with --repo, makes no change to the named repo (at most an empty no-op commit where expectedHead is ignored)', async () => {
    const transport = createNodeTransport()
    try {
      const before = await gitTree(gh)
      const report = await runDoctor({ url: gh.url, token: gh.bootstrapToken, repo: SEED_REPO, transport })
      expect(report.safe).toBe(true)
      expect(await gitTree(gh)).toBe(before)
    } finally {
      transport.close()
    }
  })
})

async function gitTree(gh: TestGithosted): Promise<string> {
  return (await run('git', ['--git-dir', gh.repoGitDir(SEED_REPO), 'rev-parse', 'main^{tree}'])).stdout.trim()
}

describe('doctor CLI', () => {
  let gh: TestGithosted
  let dir: string
  beforeAll(async () => {
    gh = await startTestGithosted({ profile: 'minimal' })
    dir = mkdtempSync(join(tmpdir(), 'doctor-'))
  })
  afterAll(() => gh.close())

  const doctor = (args: string[]) =>
    run('npx', ['tsx', 'scripts/doctor.ts', ...args]).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    )

  it('prints the table and exits 0 on a server the broker can use; never prints the token', async () => {
    const file = join(dir, 'token')
    writeFileSync(file, `${gh.bootstrapToken}\n`)
    const r = await doctor(['--githosted-url', gh.url, '--token-file', file])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/expectedHead\s+rejected as an unknown field\s+adapted/)
    expect(r.out).toMatch(/DeleteFile\s+unimplemented\s+adapted\s+releases a hold by writing/)
    expect(r.out).toContain('OK: the broker can work against this server.')
    expect(r.out + r.err).not.toContain(gh.bootstrapToken)
  })

  it('exits 1 when the token cannot mint (read-only) and when nothing answers', async () => {
    const readOnly = join(dir, 'read-token')
    writeFileSync(readOnly, await gh.createToken({ permission: 'read' }))
    const r = await doctor(['--githosted-url', gh.url, '--token-file', readOnly])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/token\s+accepted, but ListTokens answered permission_denied\s+unsafe/)
    const down = await doctor(['--githosted-url', 'http://127.0.0.1:1', '--token-file', readOnly])
    expect(down.code).toBe(1)
    expect(down.out).toMatch(/reachable\s+no answer \(ECONNREFUSED\)\s+unsafe/)
  })

  it('exits 2 on bad usage', async () => {
    expect((await doctor(['--token-file', '/nonexistent'])).code).toBe(2)
    const r = await doctor(['--githosted-url', 'ftp://x', '--token-file', '/nonexistent'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/must be http:\/\/ or https:\/\//)
  })
})
