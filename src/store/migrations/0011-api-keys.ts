import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * Keys of the REST API (`rostersync api-keys create`), and an index that reads one account's
 * history from the change feed.
 *
 * A key is shown once and kept only as the SHA-256 of its secret part: keys are long random strings,
 * so a plain hash is enough to make a copy of the table useless, and checking one costs a
 * microsecond on every request (a password hash would cost milliseconds). The id is the key's public
 * part, so a request finds its row by primary key.
 *
 * `account_changes` had no index but its sequence: the API's and admin pages' account history
 * (`where account_id = ? order by seq desc`) scanned the whole feed.
 *
 * PostgreSQL: the identity GIN index loses its pending list (`fastupdate = off`). With it, the
 * entries of a large sync wait in an unsorted list that every lookup reads in full until a vacuum
 * merges them, which made identifier lookups right after a large sync many times slower;
 * without it a sync merges each entry as it writes, which measured no slower (figures in
 * docs/benchmarks.md).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    /** `read` or `admin`. */
    .addColumn('scope', 'text', (c) => c.notNull())
    /** Hex SHA-256 of the key's secret part. */
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    /** Updated at most once a minute per key (see ApiKeysRepo.touch). */
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('account_changes_account_idx')
    .ifNotExists()
    .on('account_changes')
    .columns(['account_id', 'seq'])
    .execute();
  await dialect.identityIndexWithoutPendingList(db);
}
