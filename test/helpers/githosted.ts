import {
  startLocalGithosted,
  type LocalGithosted,
  type LocalGithostedOptions,
} from '../../local/githosted/index.js'

/** A seeded local githosted whose bootstrap token is always present. */
export type TestGithosted = LocalGithosted & { bootstrapToken: string }

/**
 * Starts the local githosted for a test: fresh temp data dir (removed on
 * close), random port on 127.0.0.1, seeded with `deploy-configs`. Call
 * `close()` in afterAll/afterEach.
 */
export async function startTestGithosted(
  opts: Omit<LocalGithostedOptions, 'dataDir' | 'seed'> = {},
): Promise<TestGithosted> {
  const server = await startLocalGithosted({ ...opts, seed: true })
  if (!server.bootstrapToken) {
    await server.close()
    throw new Error('seeded local githosted returned no bootstrap token')
  }
  return server as TestGithosted
}
