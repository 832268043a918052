import type { ColumnDefinitionBuilder, Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { IdentityType } from '../../model/account.js';
import type { Entity, SourceKind } from '../../model/entities.js';
import type { AccountWrite, StoredAccount } from '../../model/stored-account.js';
import type { DB } from '../schema.js';
import type { BulkWriter } from './bulk-writer.js';

/**
 * The port between the store and a database engine. Every difference between SQLite and
 * PostgreSQL is a method or value here, implemented once in `sqlite.ts` and once in `postgres.ts`;
 * repositories and migrations call the port and never ask which engine is underneath (a lint rule
 * holds that line). The raw driver handles (the pg pool, a transaction's pg client, the SQLite
 * handle) never leave this folder.
 */
export interface Dialect {
  /** The Kysely instance over the whole database (outside any transaction). */
  readonly db: Kysely<DB>;
  /** Where the data lives, with any password removed; safe to print. */
  readonly location: string;
  /**
   * Transactions can run side by side, each on its own connection (PostgreSQL): a stream may write
   * its next batch while the previous one commits. SQLite has one connection, used in turn.
   */
  readonly concurrentTransactions: boolean;
  /**
   * New rows given as lines of COPY text (see encoding/row-text.ts) are loaded as they are
   * (PostgreSQL COPY), so a source that can encode them should (see encoding/prepared-row.ts).
   * Elsewhere rows are written as values, and a source should prepare those.
   */
  readonly loadsRowText: boolean;
  /** Schema differences, for migrations. */
  readonly migrations: MigrationDialect;
  /** The queries that differ, bound to `executor` (the database or one transaction). */
  queries(executor: Kysely<DB>): DialectQueries;
  /** Runs `fn` (which opens one Kysely transaction) so the dialect can find the transaction's connection. */
  inTransactionContext<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The query differences, bound to one executor. */
export interface DialectQueries {
  /**
   * Bind parameters allowed in one statement. SQLite (compiled default since 3.32) allows 32766,
   * PostgreSQL's wire protocol 65535; both dialects stay a little under so a chunk never fails on
   * the limit.
   */
  readonly maxBindParameters: number;
  /** Bulk inserts and upserts for the hot write paths. */
  readonly bulk: BulkWriter;
  /**
   * `column IN (…values)`: one array parameter however many values where the engine has array
   * parameters (the statement parses and plans once), a plain IN list elsewhere (callers chunk under
   * {@link maxBindParameters}).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- works for any table of any query
  anyOf(eb: ExpressionBuilder<any, any>, column: string, values: readonly string[]): Expression<SqlBool>;
  /**
   * Refreshes planner statistics of tables that grew a lot, where the engine needs it while a table
   * grows from empty (PostgreSQL); a no-op elsewhere.
   */
  analyze(tables: ReadonlyArray<keyof DB>): Promise<void>;
  /** Sets `raw_hash` and `scope_ids` of stored rows (see queries/raw-fingerprints.ts). */
  refreshRaw(
    scope: { district: string; source: SourceKind },
    entity: Entity,
    rows: ReadonlyArray<{ sourceId: string; raw: string; scope: string | null }>,
  ): Promise<void>;
  /**
   * The accounts of a district holding any of `values` (at most a chunk's worth) as an identity of
   * `type`, one entry per (value, account): through a GIN index over `accounts.identities`
   * (PostgreSQL) or the `account_identities` table (SQLite, which cannot index into a JSON array).
   */
  accountsByIdentity(
    district: string,
    type: IdentityType,
    values: readonly string[],
  ): Promise<Array<{ value: string; account: StoredAccount }>>;
  /**
   * A condition on `accounts` rows: the account holds `value` as an identity of one of `types`, in
   * `district` when given (any district otherwise). Indexed the way {@link accountsByIdentity} is, so
   * an identifier lookup stays an index probe when it is one arm of a larger condition.
   */
  holdsIdentity(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a condition of any query over accounts
    eb: ExpressionBuilder<any, any>,
    value: string,
    types: readonly IdentityType[],
    district: string | null,
  ): Expression<SqlBool>;
  /**
   * The text at `path` (object keys) inside a JSON text column, or null where there is none: for
   * searches over record data (no index serves these; callers page by key to bound the scan).
   */
  jsonText(column: string, path: readonly string[]): Expression<string | null>;
  /** True where the JSON array at key `key` of a JSON text column holds the string `value`. */
  jsonArrayHas(column: string, key: string, value: string): Expression<SqlBool>;
  /** Keeps the identity index of one account in step with its `identities` column. */
  replaceIdentities(
    accountId: string,
    district: string,
    identities: ReadonlyArray<{ type: IdentityType; value: string }>,
  ): Promise<void>;
  /** The same for accounts written in bulk (a new account has no indexed identities to clear). */
  replaceIdentitiesOf(items: ReadonlyArray<{ write: AccountWrite; isNew: boolean }>): Promise<void>;
}

/** Schema differences, as migrations need them. Migrations see the schema of their own time. */
export interface MigrationDialect {
  /** A not-null id column that compares bytewise, the way Clever orders its ids (cursor ranges). */
  idColumn(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** SQL type of an auto-incrementing 64-bit key (the change feed's sequence). */
  readonly autoIncrementKeyType: 'integer' | 'bigserial';
  /** The modifiers of that key column. */
  autoIncrementKey(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** SQL type of a plain 64-bit integer column. */
  readonly int64Type: 'integer' | 'bigint';
  /**
   * Migration 0003: fills the new `accounts.identities` column from `account_identities`, and
   * where a GIN index can serve lookups, builds it and drops the table.
   */
  moveIdentitiesIntoAccounts(db: AnyKysely): Promise<void>;
  /** Migration 0004: `section_members` without its primary key (a table rebuild where a key cannot be dropped). */
  dropSectionMembersKey(db: AnyKysely): Promise<void>;
  /** Migration 0006: the identity GIN index rebuilt with `jsonb_path_ops`, where there is one. */
  rebuildIdentityIndex(db: AnyKysely): Promise<void>;
  /**
   * Migration 0011: the identity GIN index without a pending list (`fastupdate = off`), its
   * pending entries merged now, where there is one.
   */
  identityIndexWithoutPendingList(db: AnyKysely): Promise<void>;
  /**
   * Migration 0014: `accounts.record_source_id` compares as {@link idColumn} does (bytewise), where
   * the default differs.
   */
  accountRecordIdsBytewise(db: AnyKysely): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export type AnyKysely = Kysely<any>;
