import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/** Row types of migration 0013 (kept here: only this repository reads them). */
type DbAdmin = {
  id: string;
  email: string;
  district_id: string | null;
  password_hash: string | null;
  setup_token_hash: string | null;
  setup_expires_at: string | null;
  created_at: string;
  updated_at: string;
};
type DbAdminSession = { token_hash: string; admin_id: string; created_at: string; expires_at: string };
type DbAdminLoginAttempt = { email: string; at: string; ok: number };

// A type alias, not an interface: Kysely's withTables wants an indexable record.
type AdminTables = {
  admins: DbAdmin;
  admin_sessions: DbAdminSession;
  admin_login_attempts: DbAdminLoginAttempt;
};

export interface Admin {
  id: string;
  email: string;
  /** Null: a vendor admin, who sees every district. */
  district: string | null;
  /** False until the one-time setup link has been used. */
  hasPassword: boolean;
  createdAt: string;
}

/** An admin with the stored secrets' hashes, for the sign-in checks only. */
export interface AdminCredentials extends Admin {
  passwordHash: string | null;
  setupExpiresAt: string | null;
}

function toAdmin(r: DbAdmin): AdminCredentials {
  return {
    id: r.id,
    email: r.email,
    district: r.district_id,
    hasPassword: r.password_hash !== null,
    createdAt: r.created_at,
    passwordHash: r.password_hash,
    setupExpiresAt: r.setup_expires_at,
  };
}

/** Admins of the web app, their sessions and their sign-in attempts (hashes only, never secrets). */
export class AdminsRepo {
  private readonly db: Kysely<DB & AdminTables>;

  constructor(
    db: Kysely<DB>,
    private readonly now: () => string,
  ) {
    this.db = db.withTables<AdminTables>();
  }

  /** Creates the admin, or gives an existing one (same email) a new setup token and district. */
  async upsert(a: {
    id: string;
    email: string;
    district: string | null;
    setupTokenHash: string;
    setupExpiresAt: string;
  }): Promise<Admin> {
    const now = this.now();
    await this.db
      .insertInto('admins')
      .values({
        id: a.id,
        email: a.email,
        district_id: a.district,
        password_hash: null,
        setup_token_hash: a.setupTokenHash,
        setup_expires_at: a.setupExpiresAt,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column('email').doUpdateSet({
          district_id: a.district,
          setup_token_hash: a.setupTokenHash,
          setup_expires_at: a.setupExpiresAt,
          updated_at: now,
        }),
      )
      .execute();
    return (await this.byEmail(a.email))!;
  }

  async byEmail(email: string): Promise<AdminCredentials | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? toAdmin(row) : undefined;
  }

  async get(id: string): Promise<AdminCredentials | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAdmin(row) : undefined;
  }

  async bySetupToken(tokenHash: string): Promise<AdminCredentials | undefined> {
    const row = await this.db
      .selectFrom('admins')
      .selectAll()
      .where('setup_token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row ? toAdmin(row) : undefined;
  }

  async list(): Promise<Admin[]> {
    const rows = await this.db.selectFrom('admins').selectAll().orderBy('email').execute();
    return rows.map(toAdmin);
  }

  /** Sets the password and uses up the setup token. */
  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('admins')
      .set({
        password_hash: passwordHash,
        setup_token_hash: null,
        setup_expires_at: null,
        updated_at: this.now(),
      })
      .where('id', '=', id)
      .execute();
  }

  async createSession(s: { tokenHash: string; adminId: string; expiresAt: string }): Promise<void> {
    await this.db
      .insertInto('admin_sessions')
      .values({
        token_hash: s.tokenHash,
        admin_id: s.adminId,
        created_at: this.now(),
        expires_at: s.expiresAt,
      })
      .execute();
  }

  /** The admin of an unexpired session. */
  async bySession(tokenHash: string): Promise<Admin | undefined> {
    const row = await this.db
      .selectFrom('admin_sessions as s')
      .innerJoin('admins as a', 'a.id', 's.admin_id')
      .selectAll('a')
      .where('s.token_hash', '=', tokenHash)
      .where('s.expires_at', '>', this.now())
      .executeTakeFirst();
    return row ? toAdmin(row) : undefined;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('token_hash', '=', tokenHash).execute();
  }

  /** Ends every session of an admin (a new password signs the other devices out). */
  async deleteSessionsOf(adminId: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('admin_id', '=', adminId).execute();
  }

  async recordAttempt(email: string, ok: boolean): Promise<void> {
    await this.db
      .insertInto('admin_login_attempts')
      .values({ email, at: this.now(), ok: ok ? 1 : 0 })
      .execute();
  }

  /** Refused sign-ins of `email` since `since` (ISO), newest first, up to `limit`. */
  async failuresSince(email: string, since: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('admin_login_attempts')
      .select('at')
      .where('email', '=', email)
      .where('ok', '=', 0)
      .where('at', '>=', since)
      .orderBy('at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.at);
  }
}
