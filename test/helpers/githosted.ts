import { execFileSync } from 'node:child_process'
import {
  isProfileName,
  startLocalGithosted,
  type ProfileName,
  type LocalGithosted,
  type LocalGithostedOptions,
} from '../../local/githosted/index.js'

/** A seeded local githosted whose bootstrap token is always present. */
export type TestGithosted = LocalGithosted & { bootstrapToken: string }

/**
 * The profile integration suites run against: GITHOSTED_PROFILE (set per
 * vitest project, see vitest.config.ts), else 'documented'.
 */
export function testProfile(): ProfileName {
  const name = process.env.GITHOSTED_PROFILE ?? 'documented'
  if (!isProfileName(name)) throw new Error(`GITHOSTED_PROFILE=${name} is not a githosted profile`)
  return name
}

/**
 * Starts the local githosted for a test: fresh temp data dir (removed on
 * close), random port on 127.0.0.1, seeded with `deploy-configs`, in the
 * suite's profile unless the test names one (or passes `compat`). Call
 * `close()` in afterAll/afterEach.
 */
export async function startTestGithosted(
  opts: Omit<LocalGithostedOptions, 'dataDir' | 'seed'> = {},
): Promise<TestGithosted> {
  const profile = opts.profile ?? (opts.compat === undefined ? testProfile() : undefined)
  const server = await startLocalGithosted({ ...opts, ...(profile ? { profile } : {}), seed: true })
  if (!server.bootstrapToken) {
    await server.close()
    throw new Error('seeded local githosted returned no bootstrap token')
  }
  return server as TestGithosted
}

/** A commit's full message, read with git itself: Log returns only subjects on most profiles. */
export function gitMessage(gh: LocalGithosted, repo: string, sha: string): string {
  return execFileSync('git', ['--git-dir', gh.repoGitDir(repo), 'log', '-1', '--format=%B', sha]).toString()
}

/** A deploy subject without the `(base <sha>)` marker added where Log has no full messages. */
export function plainSubject(subject: string): string {
  return subject.replace(/ \(base [0-9a-f]{7,40}\)$/, '')
}
