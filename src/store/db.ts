import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import pg from 'pg';
import { RostersyncError } from '../shared/errors.js';
import type { DB } from './schema.js';

/**
 * The few differences between SQLite and PostgreSQL, in one place. Code that needs a dialect
 * difference asks this object; nothing else branches on the dialect name.
 */
export interface Capabilities {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Bind parameters allowed in one statement. SQLite (compiled default since 3.32) allows 32766,
   * PostgreSQL's wire protocol 65535; we stay a little under both so a chunk never fails on the limit.
   */
  readonly maxBindParameters: number;
  /** SQL type of an auto-incrementing 64-bit key (the change feed's sequence). */
  readonly autoIncrementKeyType: 'integer' | 'bigserial';
  /** SQL type of a plain 64-bit integer column (SQLite's integer is already 64-bit). */
  readonly int64Type: 'integer' | 'bigint';
  /**
   * Collation clause for id columns. Cursor ranges (`source_id > ?`) must compare bytewise, the way
   * Clever orders its ids; PostgreSQL's default collation follows the locale, so ids get `COLLATE "C"`.
   */
  readonly binaryCollation: RawBuilder<unknown> | null;
  /** COPY FROM STDIN is available (PostgreSQL) for bulk loads into staging tables. */
  readonly copy: boolean;
  /**
   * Array parameters are available (PostgreSQL): a bulk insert sends one array per column through
   * `unnest()`, and `col = any($1)` replaces a list of thousands of `in (…)` parameters, so a
   * statement stays small, and parses and plans once, however many rows it covers.
   */
  readonly arrayParams: boolean;
  /**
   * The planner needs fresh statistics while a table grows from empty (PostgreSQL): without them it
   * estimates a one-row table and turns each batch's key lookup into a scan of the whole district,
   * which made a first sync quadratic (measured: 200k students took 4x longer than 10x 20k).
   * SQLite plans key lookups by index without statistics.
   */
  readonly analyzeWhileLoading: boolean;
  /**
   * Transactions can run side by side, each on its own connection (PostgreSQL): a stream may write
   * its next batch while the previous one commits. SQLite has one connection, used in turn.
   */
  readonly concurrentTransactions: boolean;
  /**
   * How accounts are found by a login identity. `gin` (PostgreSQL): a GIN index over the
   * `accounts.identities` tokens. `table` (SQLite, which cannot index into a JSON array): the
   * `account_identities` table, one row per identity, kept next to the column.
   */
  readonly identityIndex: 'gin' | 'table';
}

export interface Database {
  readonly db: Kysely<DB>;
  readonly caps: Capabilities;
  /** Where the data lives, with any password removed; safe to print. */
  readonly location: string;
  /** The raw PostgreSQL pool; null on SQLite. */
  readonly pgPool: pg.Pool | null;
  /** Runs `fn` (which opens one Kysely transaction) so that its connection can be found (COPY). */
  inTransactionContext<T>(fn: () => Promise<T>): Promise<T>;
  /** The raw pg client of the transaction running in this async context; null elsewhere or on SQLite. */
  transactionClient(): pg.PoolClient | null;
  /** The raw SQLite handle, for prepared-statement bulk writes (see bulk-writer.ts); null on PostgreSQL. */
  readonly sqlite: SQLite.Database | null;
  close(): Promise<void>;
}

const SQLITE_CAPS: Capabilities = {
  dialect: 'sqlite',
  maxBindParameters: 32_000,
  autoIncrementKeyType: 'integer',
  int64Type: 'integer',
  binaryCollation: null,
  copy: false,
  arrayParams: false,
  analyzeWhileLoading: false,
  concurrentTransactions: false,
  identityIndex: 'table',
};

const POSTGRES_CAPS: Capabilities = {
  dialect: 'postgres',
  maxBindParameters: 65_000,
  autoIncrementKeyType: 'bigserial',
  int64Type: 'bigint',
  binaryCollation: sql`collate "C"`,
  copy: true,
  arrayParams: true,
  analyzeWhileLoading: true,
  concurrentTransactions: true,
  identityIndex: 'gin',
};

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
 * Opens the database without running migrations (see `openStore` for the usual entry point).
 * SQLite runs in WAL mode with a 5 s busy timeout so a status reader never blocks a running sync.
 */
export function openDatabase(opts: OpenDatabaseOptions): Database {
  const { location } = opts;
  if (isPostgresUrl(location)) {
    const int8 = 20;
    const pool = new pg.Pool({
      connectionString: location,
      max: opts.poolSize ?? 8,
      // A sync commits a batch at a time and resumes from its last commit after a crash, so a
      // commit need not wait for its WAL flush: losing the last few batches of a crashed run costs
      // nothing but their redo, and every commit stays atomic. (A per-session setting only.)
      // A batch looks its keys up through indexes (`= any(2000 ids)`); with the default
      // random_page_cost of 4 (spinning disks) the planner prefers a sequential scan of a table of
      // 100k–300k rows for that, which measured 4x slower than the index on a warm table. 1.1 is the
      // usual setting for SSDs and cached data; it is set for these sessions only.
      options: '-c synchronous_commit=off -c random_page_cost=1.1',
      // bigint (count(*), the change feed sequence) as a JS number: our values stay far below 2^53.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === int8
            ? (v: string) => Number(v)
            : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client that errors (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    // Kysely does not expose the connection a transaction runs on; COPY needs it. Store.transaction
    // opens a slot in async context, and the first client acquired inside it (the transaction's) is
    // recorded there for the bulk writer.
    const txSlot = new AsyncLocalStorage<{ client?: pg.PoolClient }>();
    const kyselyPool = {
      connect: async (): Promise<pg.PoolClient> => {
        const client = await pool.connect();
        const slot = txSlot.getStore();
        if (slot && !slot.client) slot.client = client;
        return client;
      },
      end: () => pool.end(),
    };
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: kyselyPool }), ...logOption(opts) });
    return {
      db,
      caps: POSTGRES_CAPS,
      location: redactUrl(location),
      pgPool: pool,
      inTransactionContext: (fn) => txSlot.run({}, fn),
      transactionClient: () => txSlot.getStore()?.client ?? null,
      sqlite: null,
      close: () => db.destroy(),
    };
  }
  if (location.includes('://')) {
    throw new RostersyncError(
      'config',
      `database: "${redactUrl(location)}" is neither a SQLite file path nor a postgres:// URL`,
    );
  }
  if (location !== ':memory:') mkdirSync(dirname(resolve(location)), { recursive: true });
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(location);
  } catch (err) {
    throw new RostersyncError('config', `database: cannot open SQLite file "${location}"`, { cause: err });
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  // 64 MB page cache (negative = KiB): the record and account indexes of a large district stay hot.
  sqlite.pragma('cache_size = -65536');
  // Checkpoint the WAL every 64 MB instead of every 4 MB: each checkpoint fsyncs, and with the
  // default a large sync paid one on nearly every batch commit (measured: commits took half as long).
  sqlite.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }), ...logOption(opts) });
  return {
    db,
    caps: SQLITE_CAPS,
    location,
    pgPool: null,
    inTransactionContext: (fn) => fn(),
    transactionClient: () => null,
    sqlite,
    close: () => db.destroy(),
  };
}
