import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * Re-keys: a person the source sends under a new id (same district key) keeps their account.
 * - `run_pending_rekeys`: the re-keys a run found at the end of a stream, applied once the run passes
 *   the safety valve (or is approved), dropped when it fails or is rejected. `account_kind` lets the
 *   valve count them per kind without a join.
 * - `account_former_identities`: identity values an account held before a re-key (the old Clever
 *   id), kept apart from `accounts.identities` so that what a sync derives from the new record stays
 *   the account's whole current state, and so that an old sign-in link still finds the account.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('run_pending_rekeys')
    .ifNotExists()
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('new_id', 'text', (c) => dialect.idColumn(c))
    .addColumn('old_id', 'text', (c) => dialect.idColumn(c))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('account_kind', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_pending_rekeys_pk', ['run_id', 'entity', 'source', 'new_id'])
    .execute();

  await db.schema
    .createTable('account_former_identities')
    .ifNotExists()
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_former_identities_pk', ['account_id', 'type', 'value'])
    .execute();
  await db.schema
    .createIndex('account_former_identities_lookup_idx')
    .ifNotExists()
    .on('account_former_identities')
    .columns(['district_id', 'type', 'value'])
    .execute();
}
