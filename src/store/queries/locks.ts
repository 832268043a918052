import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/**
 * One run per district at a time, across processes and machines, with a row per district. A lock
 * whose heartbeat is older than `staleMs` belongs to a process that died and may be taken over; the
 * holder refreshes the heartbeat as it commits batches. This works the same on SQLite and PostgreSQL,
 * which is why it is a table and not a PostgreSQL advisory lock.
 */
export class LocksRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  /** Returns true when the lock was taken (free, stale, or already ours). */
  async acquire(district: string, runId: string, owner: string, staleMs: number): Promise<boolean> {
    const now = this.now();
    const staleBefore = new Date(Date.parse(now) - staleMs).toISOString();
    await this.db
      .insertInto('sync_locks')
      .values({ district_id: district, run_id: runId, owner, acquired_at: now, heartbeat_at: now })
      .onConflict((oc) =>
        oc
          .column('district_id')
          .doUpdateSet({ run_id: runId, owner, acquired_at: now, heartbeat_at: now })
          .where('sync_locks.heartbeat_at', '<', staleBefore),
      )
      .execute();
    const row = await this.db
      .selectFrom('sync_locks')
      .select('run_id')
      .where('district_id', '=', district)
      .executeTakeFirst();
    return row?.run_id === runId;
  }

  async heartbeat(district: string, runId: string): Promise<void> {
    await this.db
      .updateTable('sync_locks')
      .set({ heartbeat_at: this.now() })
      .where('district_id', '=', district)
      .where('run_id', '=', runId)
      .execute();
  }

  async release(district: string, runId: string): Promise<void> {
    await this.db
      .deleteFrom('sync_locks')
      .where('district_id', '=', district)
      .where('run_id', '=', runId)
      .execute();
  }

  async holder(district: string): Promise<{ runId: string; owner: string; heartbeatAt: string } | undefined> {
    const row = await this.db
      .selectFrom('sync_locks')
      .selectAll()
      .where('district_id', '=', district)
      .executeTakeFirst();
    return row ? { runId: row.run_id, owner: row.owner, heartbeatAt: row.heartbeat_at } : undefined;
  }
}
