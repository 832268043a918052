import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { isPostgresUrl } from '../src/store/db.js';

/**
 * A fresh database for a benchmark run: a new database on the PostgreSQL server `url` names, or a new
 * SQLite file in `dir` (or the SQLite path `url` names). `drop` removes it afterwards.
 */
export async function freshDatabase(
  url: string | undefined,
  dir: string,
  prefix: string,
): Promise<{ location: string; drop: () => Promise<void> }> {
  if (url && isPostgresUrl(url)) {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(url);
    u.pathname = `/${name}`;
    return {
      location: u.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      },
    };
  }
  const file = url ?? join(dir, `${prefix}-${randomBytes(4).toString('hex')}.db`);
  const remove = () => {
    for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
  };
  remove();
  return { location: file, drop: () => Promise.resolve(remove()) };
}
