import type { Kysely } from 'kysely';

/**
 * Clever sign-in: the last sign-in (and last refusal) of each account, kept apart from `accounts`
 * because a sync rewrites account rows in bulk and must neither carry nor clobber them; and the
 * assertion signing key the server generates when none is configured (private half encrypted with
 * `secretKey`), one row per key name so every serving process signs with the same key.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('account_sign_ins')
    .ifNotExists()
    .addColumn('account_id', 'text', (c) => c.primaryKey())
    .addColumn('district_id', 'text', (c) => c.notNull())
    /** ISO-8601; null while the account has never signed in. */
    .addColumn('last_sign_in_at', 'text')
    .addColumn('sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
    /** The last refusal of a login onto this account (e.g. `account_deactivated`). */
    .addColumn('last_refused_at', 'text')
    .addColumn('last_refused_reason', 'text')
    .addColumn('refusals', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('signing_keys')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    /** JWK thumbprint, used as the `kid` of assertions and in the JWKS. */
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    /** The public JWK as JSON. */
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    /** The private JWK as JSON, encrypted with secretKey (SecretBox). */
    .addColumn('private_ciphertext', 'text', (c) => c.notNull())
    .addColumn('secret_key_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
