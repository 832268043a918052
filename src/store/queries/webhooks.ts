import type { Kysely } from 'kysely';
import type { SecretBox } from '../secrets.js';
import type { DB, DbWebhookEndpoint } from '../schema.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  enabled: boolean;
  /** Last change-feed sequence the receiver acknowledged. */
  cursor: number;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
}

function toEndpoint(r: DbWebhookEndpoint): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    enabled: Number(r.enabled) === 1,
    cursor: Number(r.cursor),
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

/** Webhook endpoints with their signing secret (encrypted at rest) and delivery cursor. */
export class WebhooksRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  async add(e: { id: string; url: string; secret: string; cursor: number }, box: SecretBox): Promise<void> {
    await this.db
      .insertInto('webhook_endpoints')
      .values({
        id: e.id,
        url: e.url,
        secret_ciphertext: box.encrypt(e.secret),
        secret_key_id: box.keyId,
        enabled: 1,
        cursor: e.cursor,
        attempts: 0,
        next_attempt_at: null,
        last_error: null,
        created_at: this.now(),
      })
      .execute();
  }

  async list(): Promise<WebhookEndpoint[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toEndpoint);
  }

  async secret(id: string, box: SecretBox): Promise<string> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select(['secret_ciphertext', 'secret_key_id'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return box.decrypt(row.secret_ciphertext, row.secret_key_id);
  }

  async remove(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async acknowledge(id: string, seq: number): Promise<void> {
    await this.db
      .updateTable('webhook_endpoints')
      .set({ cursor: seq, attempts: 0, next_attempt_at: null, last_error: null })
      .where('id', '=', id)
      .execute();
  }

  async failed(id: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('webhook_endpoints')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) })
      .where('id', '=', id)
      .execute();
  }
}
