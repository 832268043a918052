import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * Accounts, part two: the staff title, a hash of each account's state, overrides that survive syncs, deactivations a run is holding
 * back, and webhook endpoints with their delivery cursor.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('title', 'text').execute();
  // Hash of the stored state (model/account.ts accountStateHash), maintained by every write.
  await db.schema.alterTable('accounts').addColumn('state_hash', 'text').execute();
  // What the last sync derived the account from, so an unchanged record is skipped without deriving:
  // the record's content hash, the version of the rules (settings + overrides), and the state hash
  // the sync wrote (a differing state_hash means someone edited the account since).
  await db.schema.alterTable('accounts').addColumn('record_hash', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('derive_version', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('synced_hash', 'text').execute();
  await db.schema
    .createIndex('accounts_email_idx')
    .ifNotExists()
    .on('accounts')
    .columns(['district_id', 'email'])
    .execute();

  await db.schema
    .createTable('account_overrides')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.notNull())
    /** `account` (value = account id) or a staff key type (`staff_id`, `sis_id`, `teacher_number`). */
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('key_value', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    /** `manual` (CLI/API) or `csv` (staff_overrides.csv, replaced by each new file). */
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_overrides_pk', ['district_id', 'key_type', 'key_value'])
    .execute();

  await db.schema
    .createTable('run_pending_deactivations')
    .ifNotExists()
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_pending_deactivations_pk', ['run_id', 'account_id'])
    .execute();

  await db.schema
    .createTable('webhook_endpoints')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
    .addColumn('secret_key_id', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    /** Last change-feed sequence acknowledged by the receiver. */
    .addColumn('cursor', dialect.int64Type, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
