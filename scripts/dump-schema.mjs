#!/usr/bin/env node
// Writes test/store/schema/sqlite.sql and postgres.sql anew from fresh migrations (run it after
// adding a migration, then review the diff): the store's schema test with ROSTERSYNC_WRITE_SCHEMA=1,
// which makes it write the files before comparing. Needs the test PostgreSQL, as `npm test` does.
import { spawnSync } from 'node:child_process';

const r = spawnSync('npx', ['vitest', 'run', 'test/store/schema.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, ROSTERSYNC_WRITE_SCHEMA: '1' },
});
process.exit(r.status ?? 1);
