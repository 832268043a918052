import { defineConfig } from 'vitest/config';

// Integration suites start real HTTP servers and databases, so timeouts are generous; nothing asserts
// on wall-clock time (speed lives in `npm run bench`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
