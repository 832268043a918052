import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

// Integration suites start real HTTP servers and databases, so timeouts are generous; nothing asserts
// on wall-clock time (speed lives in `npm run bench`).
export default defineConfig({
  resolve: {
    // Tests import the package by its name, as an application would; here the name resolves to the
    // TypeScript sources (package.json `exports` points at dist/, which only a build makes). The same
    // mapping is in tsconfig.json `paths` for the type checker.
    alias: [
      { find: /^rostersync$/, replacement: src('index.ts') },
      { find: /^rostersync\/simulator$/, replacement: src('simulator/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
