#!/usr/bin/env node
// `npm test`: runs the whole vitest suite once, then prints one plain summary line
// (`N passed, N failed, N skipped`). Before running it probes PostgreSQL; when it is unreachable the
// PostgreSQL suites are skipped and this script says so loudly, with how to enable them. Extra
// arguments go to vitest (e.g. `npm test -- test/store`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import pg from 'pg';

const url = process.env.ROSTERSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let pgUp = false;
let why = '';
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
try {
  await client.connect();
  await client.query('select 1');
  pgUp = true;
} catch (err) {
  why = err instanceof Error ? err.message : String(err);
} finally {
  await client.end().catch(() => undefined);
}

const banner = (lines) => {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '!'.repeat(width);
  console.error(['', bar, ...lines.map((l) => `! ${l.padEnd(width - 4)} !`), bar, ''].join('\n'));
};

if (!pgUp) {
  if (process.env.ROSTERSYNC_REQUIRE_PG === '1') {
    console.error(`PostgreSQL is required (ROSTERSYNC_REQUIRE_PG=1) but ${url} did not answer: ${why}`);
    process.exit(1);
  }
  banner([
    'POSTGRESQL SUITES WILL BE SKIPPED',
    `${url} did not answer: ${why}`,
    'Only the SQLite halves of the database suites run.',
    'To run them: start PostgreSQL (trust auth for user postgres on 127.0.0.1:5432),',
    'or point ROSTERSYNC_TEST_PG_URL at a server where that user may create databases.',
  ]);
}

const out = '.tmp/test-results.json';
rmSync(out, { force: true });
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
];
const res = spawnSync('npx', args, { stdio: 'inherit', env: process.env });

let passed = 0;
let failed = 1;
let skipped = 0;
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + countFilesFailedOutsideTests(report);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
if (res.status !== 0 && failed === 0) failed = 1; // vitest failed outside any test (setup, collection)

function countFilesFailedOutsideTests(report) {
  // A file whose tests failed is already counted by its tests (the report's numFailedTestSuites also
  // counts describe blocks); count only the files that failed with no failed test: load or hook errors.
  return (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
}

if (!pgUp) banner([`PostgreSQL suites were SKIPPED (${skipped} tests skipped in all). See above.`]);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
