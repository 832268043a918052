import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * PostgreSQL: the GIN index over account identities (`accounts_identities_idx`, migration 0003) is
 * built again with the `jsonb_path_ops` operator class, and identities are looked up with
 * containment (`@> any(...)`) instead of `?|` (see queries/accounts.ts byIdentity).
 *
 * `jsonb_path_ops` keeps one 4-byte hash per token where the default class kept the token's text.
 * Measured in session 8: after a first sync of 100,000 students (106,002 accounts) the index is
 * 20 MB against 48 MB, and the sync inserts into it with less work. Looking up 1,000 identity
 * values among 212,002 accounts read the index in ~22 ms against ~213 ms. A lookup still checks
 * the district, and a hash that collides is rechecked against the row, so what it finds does not
 * change.
 *
 * The index is built in the migration, holding a lock that keeps writes to `accounts` waiting
 * meanwhile: 3.4 s for 212,002 accounts on the development machine, about a quarter of a minute
 * per million accounts. SQLite keeps its `account_identities` table: nothing to do there.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await dialect.rebuildIdentityIndex(db);
}
