import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * PostgreSQL: the GIN index over account identities (`accounts_identities_idx`, migration 0003) is
 * built again with the `jsonb_path_ops` operator class, and identities are looked up with
 * containment (`@> any(...)`) instead of `?|` (see dialect/postgres.ts accountsByIdentity).
 *
 * `jsonb_path_ops` keeps one 4-byte hash per token where the default class kept the token's text.
 * The index is less than half the size, the sync inserts into it with less work, and a lookup of a
 * batch of identity values reads it about ten times faster (figures in docs/benchmarks.md, "Figures
 * behind store comments"). A lookup still checks the district, and a hash that collides is
 * rechecked against the row, so what it finds does not change.
 *
 * The index is built in the migration, holding a lock that keeps writes to `accounts` waiting
 * meanwhile, for a time that grows with the number of accounts. SQLite keeps its
 * `account_identities` table: nothing to do there.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await dialect.rebuildIdentityIndex(db);
}
