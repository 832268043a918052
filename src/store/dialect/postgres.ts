import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { ColumnDefinitionBuilder, KyselyConfig } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { bound, copyChunks, lineChunks } from '../encoding/copy-chunks.js';
import type { SqlValue } from '../encoding/copy-chunks.js';
import type { RowLines } from '../encoding/row-text.js';
import { toStoredAccount } from '../queries/account-row.js';
import type { DB } from '../schema.js';
import { textArrayLiteral } from '../sql-helpers.js';
import { conflictClause, insertInto, quote } from './bulk-writer.js';
import type { BulkSpec, BulkWriter } from './bulk-writer.js';
import type { AnyKysely, Dialect, DialectQueries, MigrationDialect } from './dialect.js';

/** Bind parameters per statement: the wire protocol allows 65535; a little under never fails. */
const MAX_BIND_PARAMETERS = 65_000;

/** Rows per unnest statement: large enough to amortise the round trip, small enough to stream. */
const ARRAY_CHUNK = 5000;

/**
 * PostgreSQL bulk writes:
 * - new rows inside a transaction: COPY FROM STDIN on the transaction's own connection, the fastest
 *   way into PostgreSQL;
 * - everything else: `INSERT … SELECT * FROM unnest($1::text[], $2::text[], …)`, one array
 *   parameter per column, so a chunk of thousands of rows is a short statement that parses and
 *   plans once (multi-row VALUES with tens of thousands of parameters is several times slower).
 */
class PostgresBulkWriter implements BulkWriter {
  constructor(
    private readonly db: Kysely<DB>,
    /** The pg client of the transaction running in this async context, if any. */
    private readonly transactionClient: () => pg.PoolClient | null,
  ) {}

  private copyClient(): pg.PoolClient | null {
    return this.db.isTransaction ? this.transactionClient() : null;
  }

  async insertNew(spec: Omit<BulkSpec, 'conflict'>, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
    if (rows.length === 0) return;
    const client = this.copyClient();
    if (!client) return this.write(spec, rows);
    const stream = client.query(
      copyFrom(`copy ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) from stdin`),
    );
    await pipeline(Readable.from(copyChunks(rows)), stream);
  }

  /** COPY runs on a transaction's own connection: outside one, rows go as values. */
  loadsLines(): boolean {
    return this.copyClient() !== null;
  }

  async insertLines(
    spec: Omit<BulkSpec, 'conflict'>,
    lead: readonly SqlValue[],
    blocks: readonly RowLines[],
  ): Promise<void> {
    if (!blocks.some((b) => b.last > b.first)) return;
    const client = this.copyClient();
    if (!client)
      throw new Error('COPY text outside a transaction: write the rows as values (see loadsLines)');
    const stream = client.query(
      copyFrom(`copy ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) from stdin`),
    );
    await pipeline(Readable.from(lineChunks(lead, blocks)), stream);
  }

  async write(spec: BulkSpec, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
    if (rows.length === 0) return;
    const tail = conflictClause(spec);
    for (let i = 0; i < rows.length; i += ARRAY_CHUNK) {
      const part = rows.slice(i, i + ARRAY_CHUNK);
      const arrays = spec.columns.map((_, c) =>
        part.map((r) => (r[c] === null || r[c] === undefined ? null : String(bound(r[c])))),
      );
      const unnest = sql.join(arrays.map((a) => sql`${a}::text[]`));
      await sql`${sql.raw(`${insertInto(spec)} select * from unnest(`)}${unnest}${sql.raw(`)${tail}`)}`.execute(
        this.db,
      );
    }
  }

  /** COPY takes the JSON as the bytes a source may already hold. */
  json(bytes: Uint8Array | undefined, text: string | undefined): SqlValue | undefined {
    return bytes ?? text;
  }
}

const migrations: MigrationDialect = {
  // Cursor ranges (`source_id > ?`) must compare bytewise, the way Clever orders its ids;
  // PostgreSQL's default collation follows the locale.
  idColumn: (col: ColumnDefinitionBuilder) => col.notNull().modifyEnd(sql`collate "C"`),
  autoIncrementKeyType: 'bigserial',
  autoIncrementKey: (col) => col.primaryKey(),
  int64Type: 'bigint',
  async moveIdentitiesIntoAccounts(db: AnyKysely) {
    await sql`
      update accounts set identities = i.tokens
      from (
        select account_id, json_agg(type || ':' || value order by type)::text as tokens
        from account_identities group by account_id
      ) i
      where i.account_id = accounts.id`.execute(db);
    await sql`create index if not exists accounts_identities_idx on accounts using gin ((identities::jsonb))`.execute(
      db,
    );
    await db.schema.dropTable('account_identities').execute();
  },
  async dropSectionMembersKey(db: AnyKysely) {
    await sql`alter table section_members drop constraint if exists section_members_pk`.execute(db);
  },
  async rebuildIdentityIndex(db: AnyKysely) {
    await sql`drop index if exists accounts_identities_idx`.execute(db);
    await sql`create index accounts_identities_idx on accounts using gin ((identities::jsonb) jsonb_path_ops)`.execute(
      db,
    );
  },
  async identityIndexWithoutPendingList(db: AnyKysely) {
    await sql`alter index accounts_identities_idx set (fastupdate = off)`.execute(db);
    await sql`select gin_clean_pending_list('accounts_identities_idx'::regclass)`.execute(db);
  },
  async accountRecordIdsBytewise(db: AnyKysely) {
    // Rebuilds the column's index (accounts_record_idx) in the new collation. A changed column
    // loses its planner statistics: gathered again at once, or the first sync after the upgrade
    // plans its account lookups blind.
    await sql`alter table accounts alter column record_source_id type text collate "C"`.execute(db);
    await sql`analyze accounts`.execute(db);
  },
};

function queries(db: Kysely<DB>, transactionClient: () => pg.PoolClient | null): DialectQueries {
  return {
    maxBindParameters: MAX_BIND_PARAMETERS,
    bulk: new PostgresBulkWriter(db, transactionClient),
    // One array parameter, sent as one joined literal (see textArrayLiteral).
    anyOf: (eb, column, values) =>
      eb(eb.ref(column), '=', sql<string>`any(${textArrayLiteral(values)}::text[])`),
    // Without fresh statistics while a table grows from empty, the planner estimates a one-row table
    // and turns each batch's key lookup into a scan of the whole district, which makes a first sync
    // quadratic.
    async analyze(tables) {
      if (tables.length === 0) return;
      await sql.raw(`analyze ${[...new Set(tables)].map((t) => `"${t}"`).join(', ')}`).execute(db);
    },
    async refreshRaw(scope, entity, rows) {
      for (let i = 0; i < rows.length; i += ARRAY_CHUNK) {
        const part = rows.slice(i, i + ARRAY_CHUNK);
        const ids = part.map((r) => r.sourceId);
        const raws = part.map((r) => r.raw);
        const scopes = part.map((r) => r.scope);
        await sql`
          update ${sql.table(entity)} as t set raw_hash = v.raw, scope_ids = v.scope
          from unnest(${ids}::text[], ${raws}::text[], ${scopes}::text[]) as v(id, raw, scope)
          where t.district_id = ${scope.district} and t.source = ${scope.source} and t.source_id = v.id`.execute(
          db,
        );
      }
    },
    async accountsByIdentity(district, type, values) {
      const wanted = new Set(values);
      const rows = await db
        .selectFrom('accounts')
        .selectAll()
        .where('district_id', '=', district)
        // The expression and operator of the GIN index accounts_identities_idx (jsonb_path_ops,
        // migration 0006), word for word: one single-token array per value.
        .where(
          sql<boolean>`(identities::jsonb) @> any(${values.map((v) => JSON.stringify([`${type}:${v}`]))}::jsonb[])`,
        )
        .execute();
      const out: Array<{ value: string; account: ReturnType<typeof toStoredAccount> }> = [];
      for (const r of rows) {
        const account = toStoredAccount(r);
        for (const i of account.identities) {
          if (i.type === type && wanted.has(i.value)) out.push({ value: i.value, account });
        }
      }
      return out;
    },
    // The expression and operator of accounts_identities_idx again (see accountsByIdentity); the
    // district, where given, is the caller's condition beside it.
    holdsIdentity: (_eb, value, types) =>
      sql<boolean>`(identities::jsonb) @> any(${types.map((t) => JSON.stringify([`${t}:${value}`]))}::jsonb[])`,
    jsonText: (column, path) =>
      sql<string | null>`(${sql.ref(column)}::jsonb #>> ${textArrayLiteral(path)}::text[])`,
    jsonArrayHas: (column, key, value) =>
      sql<boolean>`(${sql.ref(column)}::jsonb @> ${JSON.stringify({ [key]: [value] })}::jsonb)`,
    // The GIN index follows the `identities` column by itself.
    replaceIdentities: () => Promise.resolve(),
    replaceIdentitiesOf: () => Promise.resolve(),
  };
}

/**
 * Opens a PostgreSQL pool of `poolSize` connections. Every session commits without waiting for its
 * WAL flush and plans for cached data (see the `options` below).
 */
export function openPostgres(opts: {
  url: string;
  location: string;
  poolSize: number;
  log: Pick<KyselyConfig, 'log'>;
}): Dialect {
  const int8 = 20;
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    // A sync commits a batch at a time and resumes from its last commit after a crash, so a
    // commit need not wait for its WAL flush: losing the last few batches of a crashed run costs
    // nothing but their redo, and every commit stays atomic. (A per-session setting only.)
    // A batch looks its keys up through indexes (`= any(2000 ids)`); with the default
    // random_page_cost of 4 (spinning disks) the planner prefers a sequential scan of a table of
    // a few hundred thousand rows for that, which is slower than the index on a warm table. 1.1 is
    // the usual setting for SSDs and cached data; it is set for these sessions only.
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
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: kyselyPool }), ...opts.log });
  const transactionClient = () => txSlot.getStore()?.client ?? null;
  return {
    db,
    location: opts.location,
    concurrentTransactions: true,
    loadsRowText: true,
    migrations,
    queries: (executor) => queries(executor, transactionClient),
    inTransactionContext: (fn) => txSlot.run({}, fn),
    close: () => db.destroy(),
  };
}
