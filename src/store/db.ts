import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RostersyncError } from '../shared/errors.js';
import type { Dialect } from './dialect/dialect.js';
import { openPostgres } from './dialect/postgres.js';
import { openSqlite } from './dialect/sqlite.js';

/** An open database: the dialect port over its connection (see dialect/dialect.ts). */
export type Database = Dialect;

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Removes a password from a connection URL so it can be printed or logged. */
export function redactUrl(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export interface OpenDatabaseOptions {
  /** A SQLite file path (`:memory:` allowed) or a `postgres://` URL. */
  location: string;
  /** PostgreSQL pool size. Default 8: concurrent streams each hold one for their transaction and read on others. */
  poolSize?: number;
  /** Called after every query with its SQL and duration (profiling, slow-query logs). */
  onQuery?: (sql: string, ms: number) => void;
}

function logOption(opts: OpenDatabaseOptions) {
  const onQuery = opts.onQuery;
  if (!onQuery) return {};
  return {
    log: (e: { query: { sql: string }; queryDurationMillis: number }) =>
      onQuery(e.query.sql, e.queryDurationMillis),
  };
}

/**
 * Opens the database without running migrations (see `Store.open` for the usual entry point): a
 * `postgres://` URL opens PostgreSQL, anything else a SQLite file.
 */
export function openDatabase(opts: OpenDatabaseOptions): Database {
  const { location } = opts;
  if (isPostgresUrl(location)) {
    return openPostgres({
      url: location,
      location: redactUrl(location),
      poolSize: opts.poolSize ?? 8,
      log: logOption(opts),
    });
  }
  if (location.includes('://')) {
    throw new RostersyncError(
      'config',
      `database: "${redactUrl(location)}" is neither a SQLite file path nor a postgres:// URL`,
    );
  }
  if (location !== ':memory:') mkdirSync(dirname(resolve(location)), { recursive: true });
  return openSqlite({ location, log: logOption(opts) });
}
