import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Real servers and git on two cores: keep parallelism modest and timeouts generous.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/setup/summary-reporter.ts'],
    setupFiles: ['test/setup/log-capture.ts'],
    globalSetup: ['test/setup/global.ts'],
  },
})
