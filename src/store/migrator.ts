import { Migrator } from 'kysely';
import type { Kysely, Migration, MigrationResultSet } from 'kysely';
import { RostersyncError } from '../shared/errors.js';
import type { MigrationDialect } from './dialect/dialect.js';
import * as m0001 from './migrations/0001-init.js';
import * as m0002 from './migrations/0002-accounts.js';
import * as m0003 from './migrations/0003-identity-column.js';
import * as m0004 from './migrations/0004-section-members-index.js';
import * as m0005 from './migrations/0005-raw-item-hash.js';
import * as m0006 from './migrations/0006-identity-path-ops.js';
import * as m0007 from './migrations/0007-service.js';
import * as m0008 from './migrations/0008-csv-districts.js';
import * as m0009 from './migrations/0009-rekeys.js';
import * as m0010 from './migrations/0010-sign-in.js';
import * as m0011 from './migrations/0011-api-keys.js';
import * as m0012 from './migrations/0012-event-cursors.js';
import * as m0013 from './migrations/0013-admins.js';
import * as m0014 from './migrations/0014-account-lookups.js';
import type { DB } from './schema.js';

/**
 * Numbered, append-only migrations. Each module exports `up(db, dialect)`; the dialect's schema
 * differences are bound here so a migration calls them without naming the dialect.
 * Never edit a migration that has shipped; add the next number.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
type MigrationModule = { up: (db: Kysely<any>, dialect: MigrationDialect) => Promise<void> };
const MIGRATIONS: ReadonlyArray<[string, MigrationModule]> = [
  ['0001-init', m0001],
  ['0002-accounts', m0002],
  ['0003-identity-column', m0003],
  ['0004-section-members-index', m0004],
  ['0005-raw-item-hash', m0005],
  ['0006-identity-path-ops', m0006],
  ['0007-service', m0007],
  ['0008-csv-districts', m0008],
  ['0009-rekeys', m0009],
  ['0010-sign-in', m0010],
  ['0011-api-keys', m0011],
  ['0012-event-cursors', m0012],
  ['0013-admins', m0013],
  ['0014-account-lookups', m0014],
];

export interface MigrationOutcome {
  applied: string[];
  current: string | null;
}

/**
 * Brings the schema to the latest version. Safe to call on every open and from several processes at
 * once: Kysely's migrator takes a lock table row (PostgreSQL: row lock; SQLite: single writer).
 */
export async function migrateToLatest(db: Kysely<DB>, dialect: MigrationDialect): Promise<MigrationOutcome> {
  return migrateUpTo(db, dialect, null);
}

/**
 * Brings the schema up to and including migration `target` (null: the latest). Tests use a target
 * to build a database of an older schema and check that the next migration carries its data over.
 */
export async function migrateUpTo(
  db: Kysely<DB>,
  dialect: MigrationDialect,
  target: string | null,
): Promise<MigrationOutcome> {
  if (target !== null && !MIGRATIONS.some(([name]) => name === target)) {
    throw new RostersyncError('config', `no database migration named ${target}`);
  }
  const migrations: Record<string, Migration> = {};
  for (const [name, mod] of MIGRATIONS) {
    migrations[name] = { up: (d) => mod.up(d, dialect) };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableName: 'rostersync_migrations',
    migrationLockTableName: 'rostersync_migrations_lock',
  });
  const result: MigrationResultSet =
    target === null ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration named: the database could not be opened at all (unreachable, refused, bad login).
    if (failed === undefined)
      throw new RostersyncError('config', `database: cannot open it: ${describeCause(result.error)}`, {
        cause: result.error,
      });
    throw new RostersyncError('config', `database migration ${failed} failed`, { cause: result.error });
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, current: target ?? MIGRATIONS[MIGRATIONS.length - 1]?.[0] ?? null };
}

/**
 * A connection error as one line that names the host and the cause (`connect ECONNREFUSED
 * 127.0.0.1:5999`). A host with several addresses fails with an AggregateError whose own message is
 * empty; its inner errors say what happened.
 */
function describeCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0)
    return [...new Set(err.errors.map((e) => describeCause(e)))].join('; ');
  if (err instanceof Error) return err.message || ((err as { code?: string }).code ?? err.name);
  return String(err);
}

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.[0] ?? null;
