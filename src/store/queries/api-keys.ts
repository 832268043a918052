import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/** Row type of migration 0011 (kept here: only this repository reads it). */
type DbApiKey = {
  id: string;
  name: string;
  scope: string;
  secret_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};

// A type alias, not an interface: Kysely's withTables wants an indexable record.
type ApiKeyTables = { api_keys: DbApiKey };

export const API_KEY_SCOPES = ['read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyRow {
  id: string;
  name: string;
  scope: ApiKeyScope;
  /** Hex SHA-256 of the key's secret part. */
  secretHash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function toKey(r: DbApiKey): ApiKeyRow {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope as ApiKeyScope,
    secretHash: r.secret_hash,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** REST API keys, kept hashed (see migrations/0011-api-keys.ts). */
export class ApiKeysRepo {
  private readonly db: Kysely<DB & ApiKeyTables>;

  constructor(
    db: Kysely<DB>,
    private readonly now: () => string,
  ) {
    this.db = db.withTables<ApiKeyTables>();
  }

  async insert(k: { id: string; name: string; scope: ApiKeyScope; secretHash: string }): Promise<ApiKeyRow> {
    const row: DbApiKey = {
      id: k.id,
      name: k.name,
      scope: k.scope,
      secret_hash: k.secretHash,
      created_at: this.now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toKey(row);
  }

  async get(id: string): Promise<ApiKeyRow | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  /** Every key, revoked ones included, oldest first. */
  async list(): Promise<ApiKeyRow[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toKey);
  }

  /** Marks a key revoked; false when there is no such key or it was revoked already. */
  async revoke(id: string): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Records that the key was used now. */
  async touch(id: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: this.now() }).where('id', '=', id).execute();
  }
}
