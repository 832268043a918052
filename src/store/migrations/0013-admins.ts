import type { Kysely } from 'kysely';

/**
 * The admin web app's people: admins (a vendor admin when `district_id` is null, else one
 * district's admin), their sign-in sessions, and sign-in attempts (for the lockout). Secrets are
 * kept only as hashes: the password as scrypt, the one-time setup token and each session token as
 * SHA-256 (both are long random values, so a fast hash is enough and lookups stay indexable).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('admins')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** Lower-cased. */
    .addColumn('email', 'text', (c) => c.notNull().unique())
    /** Null: a vendor admin (every district). */
    .addColumn('district_id', 'text')
    /** `scrypt$N$r$p$salt$hash`; null until the setup link is used. */
    .addColumn('password_hash', 'text')
    .addColumn('setup_token_hash', 'text')
    .addColumn('setup_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('admins_setup_token_idx')
    .ifNotExists()
    .on('admins')
    .column('setup_token_hash')
    .execute();

  await db.schema
    .createTable('admin_sessions')
    .ifNotExists()
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('admin_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('admin_sessions_admin_idx')
    .ifNotExists()
    .on('admin_sessions')
    .column('admin_id')
    .execute();

  await db.schema
    .createTable('admin_login_attempts')
    .ifNotExists()
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    /** 1 signed in, 0 refused. */
    .addColumn('ok', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('admin_login_attempts_email_idx')
    .ifNotExists()
    .on('admin_login_attempts')
    .columns(['email', 'at'])
    .execute();
}
