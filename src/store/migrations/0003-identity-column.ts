import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Capabilities } from '../db.js';

/**
 * An account's login identities move into the account row: `accounts.identities`, a JSON array of
 * `type:value` tokens, sorted by type (see queries/accounts.ts identityTokens).
 *
 * Reading an account then needs no second query, and on PostgreSQL the identity table goes: one
 * GIN index over the tokens replaces a table of ~5 rows per account and its two B-trees, which were
 * the largest part of a first sync's database work (measured at 100,000 students: 510,000 identity
 * rows, 159 MB, ~5 s of PostgreSQL's 13 s of CPU; see docs/benchmarks.md, session 4).
 * SQLite has no index over a JSON array, so it keeps `account_identities` for lookups by value.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, caps: Capabilities): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('identities', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  if (caps.identityIndex === 'gin') {
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
  } else {
    await sql`
      update accounts set identities = (
        select json_group_array(token) from (
          select type || ':' || value as token from account_identities
          where account_id = accounts.id order by type
        )
      )
      where exists (select 1 from account_identities where account_id = accounts.id)`.execute(db);
  }
}
