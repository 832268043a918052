import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, inject } from 'vitest';

export type DbKind = 'sqlite' | 'postgres';

export interface TestDatabases {
  kind: DbKind;
  /** A fresh, empty database (SQLite file or PostgreSQL database), dropped when the file's tests end. */
  fresh(): Promise<string>;
}

function pgInfo() {
  return inject('pg');
}

export function postgresAvailable(): boolean {
  return pgInfo().available;
}

async function createPgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Runs `body` once per database kind: SQLite files in a temp folder, and a real PostgreSQL with a
 * database per `fresh()` call. When PostgreSQL is unreachable the PostgreSQL copy is skipped (CI sets
 * ROSTERSYNC_REQUIRE_PG=1 so that cannot happen there) and `npm test` reports it loudly.
 */
export function describeEachDatabase(title: string, body: (db: TestDatabases) => void): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    const skip = kind === 'postgres' && !postgresAvailable();
    describe.skipIf(skip)(`${title} [${kind}]`, () => {
      const cleanups: Array<() => Promise<void>> = [];
      let dir: string | null = null;
      afterAll(async () => {
        for (const c of cleanups.reverse()) await c();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });
      body({
        kind,
        fresh: async () => {
          if (kind === 'sqlite') {
            dir ??= mkdtempSync(join(tmpdir(), 'rostersync-test-'));
            return join(dir, `${randomBytes(4).toString('hex')}.db`);
          }
          const created = await createPgDatabase(pgInfo().url);
          cleanups.push(created.drop);
          return created.url;
        },
      });
    });
  }
}
