import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { KyselyConfig } from 'kysely';
import { RostersyncError } from '../../shared/errors.js';
import { bound } from '../encoding/copy-chunks.js';
import type { SqlValue } from '../encoding/copy-chunks.js';
import { toStoredAccount } from '../queries/account-row.js';
import type { DB } from '../schema.js';
import { chunk } from '../sql-helpers.js';
import { conflictClause, insertInto, insertValues, isBytes } from './bulk-writer.js';
import type { BulkSpec, BulkWriter } from './bulk-writer.js';
import type { AnyKysely, Dialect, DialectQueries, MigrationDialect } from './dialect.js';

/** Bind parameters per statement: SQLite's compiled default (since 3.32) is 32766. */
const MAX_BIND_PARAMETERS = 32_000;

/**
 * SQLite bulk writes. Inside a transaction: one cached prepared single-row statement run per row.
 * better-sqlite3 runs these synchronously at a few hundred thousand rows a second, while a
 * multi-row VALUES statement must be parsed and planned again for every chunk (the planning
 * dominated a first sync). This code then holds the connection: Kysely's SQLite driver serialises
 * access to its one connection per transaction. Outside a transaction: multi-row INSERT … VALUES,
 * chunked under the parameter limit.
 */
class SqliteBulkWriter implements BulkWriter {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly handle: SQLite.Database,
  ) {}

  /** Prepared statements by SQL. */
  private readonly statements = new Map<string, SQLite.Statement>();

  insertNew(spec: Omit<BulkSpec, 'conflict'>, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
    return this.write(spec, rows);
  }

  /** No COPY here: lines are never handed over (see loadsLines). */
  loadsLines(): boolean {
    return false;
  }

  insertLines(): Promise<void> {
    return Promise.reject(new Error('SQLite loads no COPY text: write the rows as values (see loadsLines)'));
  }

  async write(spec: BulkSpec, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
    if (rows.length === 0) return;
    if (!this.db.isTransaction) return insertValues(this.db, spec, rows, MAX_BIND_PARAMETERS);
    const head = `${insertInto(spec)} values `;
    const tail = conflictClause(spec);
    const key = head + tail;
    let stmt = this.statements.get(key);
    if (!stmt) {
      stmt = this.handle.prepare(`${head}(${spec.columns.map(() => '?').join(', ')})${tail}`);
      this.statements.set(key, stmt);
    }
    for (const row of rows) stmt.run(...(row.some(isBytes) ? row.map(bound) : row));
  }

  /** Statements bind text: bytes would only be decoded again. */
  json(_bytes: Uint8Array | undefined, text: string | undefined): SqlValue | undefined {
    return text;
  }
}

const migrations: MigrationDialect = {
  // SQLite compares text bytewise (BINARY collation) by default.
  idColumn: (col) => col.notNull(),
  autoIncrementKeyType: 'integer',
  autoIncrementKey: (col) => col.primaryKey().autoIncrement(),
  int64Type: 'integer',
  // SQLite has no index over a JSON array, so it keeps `account_identities` for lookups by value.
  async moveIdentitiesIntoAccounts(db: AnyKysely) {
    await sql`
      update accounts set identities = (
        select json_group_array(token) from (
          select type || ':' || value as token from account_identities
          where account_id = accounts.id order by type
        )
      )
      where exists (select 1 from account_identities where account_id = accounts.id)`.execute(db);
  },
  // SQLite cannot drop a primary key, so the table is rebuilt.
  async dropSectionMembersKey(db: AnyKysely) {
    await db.schema
      .createTable('section_members_next')
      .addColumn('district_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('section_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .execute();
    await sql`
      insert into section_members_next (district_id, source, section_id, role, user_id)
      select district_id, source, section_id, role, user_id from section_members`.execute(db);
    await db.schema.dropTable('section_members').execute();
    await db.schema.alterTable('section_members_next').renameTo('section_members').execute();
  },
  // No GIN index: the `account_identities` table stays.
  rebuildIdentityIndex: () => Promise.resolve(),
  identityIndexWithoutPendingList: () => Promise.resolve(),
  // Text compares bytewise (BINARY) in every column here.
  accountRecordIdsBytewise: () => Promise.resolve(),
};

/** A JSON path of object keys, each quoted (`$."name"."first"`). */
function jsonPath(keys: readonly string[]): string {
  return `$${keys.map((k) => `.${JSON.stringify(k)}`).join('')}`;
}

function queries(db: Kysely<DB>, handle: SQLite.Database): DialectQueries {
  const bulk = new SqliteBulkWriter(db, handle);
  return {
    maxBindParameters: MAX_BIND_PARAMETERS,
    bulk,
    anyOf: (eb, column, values) => eb(eb.ref(column), 'in', [...values]),
    // Key lookups are planned by index without statistics.
    analyze: () => Promise.resolve(),
    async refreshRaw(scope, entity, rows) {
      for (const r of rows) {
        await db
          .updateTable(entity)
          .set({ raw_hash: r.raw, scope_ids: r.scope })
          .where('district_id', '=', scope.district)
          .where('source', '=', scope.source)
          .where('source_id', '=', r.sourceId)
          .execute();
      }
    },
    async accountsByIdentity(district, type, values) {
      const idRows = await db
        .selectFrom('account_identities')
        .select(['account_id', 'value'])
        .where('district_id', '=', district)
        .where('type', '=', type)
        .where('value', 'in', [...values])
        .execute();
      if (idRows.length === 0) return [];
      const rows = await db
        .selectFrom('accounts')
        .selectAll()
        .where(
          'id',
          'in',
          idRows.map((r) => r.account_id),
        )
        .execute();
      const accounts = new Map(rows.map((r) => [r.id, toStoredAccount(r)]));
      const out: Array<{ value: string; account: ReturnType<typeof toStoredAccount> }> = [];
      for (const r of idRows) {
        const account = accounts.get(r.account_id);
        if (account) out.push({ value: r.value, account });
      }
      return out;
    },
    // account_identities_lookup_idx leads with the district: without one the subquery scans the
    // table, which an embedded store's size allows.
    holdsIdentity: (eb, value, types, district) =>
      eb(
        eb.ref('id'),
        'in',
        (district === null
          ? db.selectFrom('account_identities')
          : db.selectFrom('account_identities').where('district_id', '=', district)
        )
          .select('account_id')
          .where('type', 'in', [...types])
          .where('value', '=', value),
      ),
    jsonText: (column, path) => sql<string | null>`json_extract(${sql.ref(column)}, ${jsonPath(path)})`,
    jsonArrayHas: (column, key, value) =>
      sql<boolean>`exists (select 1 from json_each(${sql.ref(column)}, ${jsonPath([key])}) where json_each.value = ${value})`,
    async replaceIdentities(accountId, district, identities) {
      await db.deleteFrom('account_identities').where('account_id', '=', accountId).execute();
      if (identities.length > 0) {
        await db
          .insertInto('account_identities')
          .values(
            identities.map((i) => ({
              account_id: accountId,
              district_id: district,
              type: i.type,
              value: i.value,
            })),
          )
          .execute();
      }
    },
    async replaceIdentitiesOf(items) {
      const ids = items.filter((i) => !i.isNew).map((i) => i.write.id);
      for (const part of chunk(ids, MAX_BIND_PARAMETERS - 2)) {
        await db.deleteFrom('account_identities').where('account_id', 'in', part).execute();
      }
      await bulk.insertNew(
        { table: 'account_identities', columns: ['account_id', 'district_id', 'type', 'value'] },
        items.flatMap(({ write: a }) => a.identities.map((i) => [a.id, a.district, i.type, i.value])),
      );
    },
  };
}

/**
 * Opens a SQLite file (`:memory:` allowed) in WAL mode with a 5 s busy timeout, so a status reader
 * never blocks a running sync.
 */
export function openSqlite(opts: { location: string; log: Pick<KyselyConfig, 'log'> }): Dialect {
  const { location } = opts;
  let handle: SQLite.Database;
  try {
    handle = new SQLite(location);
  } catch (err) {
    throw new RostersyncError('config', `database: cannot open SQLite file "${location}"`, { cause: err });
  }
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('busy_timeout = 5000');
  // 64 MB page cache (negative = KiB): the record and account indexes of a large district stay hot.
  handle.pragma('cache_size = -65536');
  // Checkpoint the WAL every 64 MB instead of every 4 MB: each checkpoint fsyncs, and with the
  // default a large sync paid one on nearly every batch commit.
  handle.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: handle }), ...opts.log });
  return {
    db,
    location,
    concurrentTransactions: false,
    loadsRowText: false,
    migrations,
    queries: (executor) => queries(executor, handle),
    inTransactionContext: (fn) => fn(),
    close: () => db.destroy(),
  };
}
