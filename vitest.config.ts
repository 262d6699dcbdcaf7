import { defineConfig } from 'vitest/config'

/**
 * The deploy, token and status integration suites run once more against each
 * githosted variant other than the default one (local/githosted/profiles.ts);
 * the test helper starts the local githosted in GITHOSTED_PROFILE.
 */
const PROFILE_SUITES = [
  'test/functions/deploy/app.test.ts',
  'test/functions/deploy/hold.test.ts',
  'test/functions/deploy/promotions.test.ts',
  'test/functions/deploy/deadline.test.ts',
  'test/functions/token/e2e.test.ts',
  'test/functions/status/app.integration.test.ts',
  'test/functions/lib/deploys/apply.integration.test.ts',
]
const OTHER_PROFILES = ['hosted-today', 'strict-schema', 'minimal']

export default defineConfig({
  test: {
    // Real servers and git on two cores: keep parallelism modest and timeouts generous.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/setup/summary-reporter.ts'],
    setupFiles: ['test/setup/log-capture.ts'],
    globalSetup: ['test/setup/global.ts'],
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'] } },
      ...OTHER_PROFILES.map((profile) => ({
        extends: true as const,
        test: { name: `githosted:${profile}`, include: PROFILE_SUITES, env: { GITHOSTED_PROFILE: profile } },
      })),
    ],
  },
})
