import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * An account's login identities move into the account row: `accounts.identities`, a JSON array of
 * `type:value` tokens, sorted by type (see queries/account-row.ts identityTokens).
 *
 * Reading an account then needs no second query, and on PostgreSQL the identity table goes: one
 * GIN index over the tokens replaces a table of ~5 rows per account and its two B-trees, which were
 * the largest part of a first sync's database work (figures in docs/benchmarks.md, "Figures behind
 * store comments").
 * SQLite has no index over a JSON array, so it keeps `account_identities` for lookups by value.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('identities', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await dialect.moveIdentitiesIntoAccounts(db);
}
