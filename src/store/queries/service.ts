import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { LATEST_MIGRATION } from '../migrator.js';
import type { DB } from '../schema.js';

/** Row types of migrations 0007 and 0008 (kept here: only this repository reads them). */
type DbDistrictService = {
  district_id: string;
  cron: string | null;
  timezone: string | null;
  attention: string | null;
  attention_at: string | null;
  csv_folder: string | null;
  updated_at: string;
};

type DbRunRequest = {
  id: string;
  district_id: string;
  origin: string;
  state: string;
  requested_at: string;
  taken_at: string | null;
  finished_at: string | null;
  run_id: string | null;
  status: string | null;
  reason: string | null;
};

// A type alias, not an interface: Kysely's withTables wants an indexable record.
type ServiceTables = {
  district_service: DbDistrictService;
  run_requests: DbRunRequest;
};

export interface DistrictServiceState {
  district: string;
  /** Null: the default schedule. */
  cron: string | null;
  timezone: string | null;
  /** Why the district needs a person; null when it does not. */
  attention: string | null;
  attentionAt: string | null;
  /** The drop folder of a CSV district; null for a Clever district. */
  csvFolder: string | null;
}

export type RunRequestOrigin = 'schedule' | 'manual';
export type RunRequestState = 'queued' | 'running' | 'done';

export interface RunRequest {
  id: string;
  district: string;
  origin: RunRequestOrigin;
  state: RunRequestState;
  requestedAt: string;
  takenAt: string | null;
  finishedAt: string | null;
  runId: string | null;
  status: string | null;
  reason: string | null;
}

function toState(r: DbDistrictService): DistrictServiceState {
  return {
    district: r.district_id,
    cron: r.cron,
    timezone: r.timezone,
    attention: r.attention,
    attentionAt: r.attention_at,
    csvFolder: r.csv_folder,
  };
}

function toRequest(r: DbRunRequest): RunRequest {
  return {
    id: r.id,
    district: r.district_id,
    origin: r.origin as RunRequestOrigin,
    state: r.state as RunRequestState,
    requestedAt: r.requested_at,
    takenAt: r.taken_at,
    finishedAt: r.finished_at,
    runId: r.run_id,
    status: r.status,
    reason: r.reason,
  };
}

/**
 * What the service keeps per district besides its sync settings: the schedule, the "needs
 * attention" mark, and the run requests `runs start` leaves for the serving process.
 */
export class ServiceRepo {
  private readonly db: Kysely<DB & ServiceTables>;

  constructor(
    db: Kysely<DB>,
    private readonly now: () => string,
  ) {
    this.db = db.withTables<ServiceTables>();
  }

  /** Throws when the database cannot be reached. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** The newest migration applied, and whether it is the newest this code knows. */
  async migrationState(): Promise<{ current: string | null; latest: string | null; upToDate: boolean }> {
    const rows = await sql<{ name: string }>`select name from rostersync_migrations`.execute(this.db);
    const names = rows.rows.map((r) => r.name).sort();
    const current = names[names.length - 1] ?? null;
    return {
      current,
      latest: LATEST_MIGRATION,
      upToDate: LATEST_MIGRATION === null || names.includes(LATEST_MIGRATION),
    };
  }

  async list(): Promise<DistrictServiceState[]> {
    const rows = await this.db.selectFrom('district_service').selectAll().orderBy('district_id').execute();
    return rows.map(toState);
  }

  async get(district: string): Promise<DistrictServiceState | undefined> {
    const row = await this.db
      .selectFrom('district_service')
      .selectAll()
      .where('district_id', '=', district)
      .executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  private async upsert(
    district: string,
    set: Partial<Omit<DbDistrictService, 'district_id' | 'updated_at'>>,
  ): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('district_service')
      .values({
        district_id: district,
        cron: null,
        timezone: null,
        attention: null,
        attention_at: null,
        csv_folder: null,
        ...set,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('district_id').doUpdateSet({ ...set, updated_at: now }))
      .execute();
  }

  /** Sets the schedule (null: the default). A changed schedule is a settings change: it clears attention. */
  async setSchedule(district: string, cron: string | null, timezone: string | null): Promise<void> {
    await this.upsert(district, { cron, timezone });
  }

  /** Makes the district a CSV district fed by `folder`, or (null) a Clever district again. */
  async setCsvFolder(district: string, folder: string | null): Promise<void> {
    await this.upsert(district, { csv_folder: folder });
  }

  async markAttention(district: string, reason: string): Promise<void> {
    await this.upsert(district, { attention: reason, attention_at: this.now() });
  }

  async clearAttention(district: string): Promise<void> {
    await this.db
      .updateTable('district_service')
      .set({ attention: null, attention_at: null, updated_at: this.now() })
      .where('district_id', '=', district)
      .where('attention', 'is not', null)
      .execute();
  }

  /**
   * Removes a district that holds no synced data (the caller checks: no runs, no records), with its
   * schedule and run requests. Synced data is never deleted here.
   */
  async removeDistrict(district: string): Promise<void> {
    await this.db.deleteFrom('run_requests').where('district_id', '=', district).execute();
    await this.db.deleteFrom('district_service').where('district_id', '=', district).execute();
    await this.db.deleteFrom('checkpoints').where('district_id', '=', district).execute();
    await this.db.deleteFrom('event_cursors').where('district_id', '=', district).execute();
    await this.db.deleteFrom('districts').where('id', '=', district).execute();
  }

  /**
   * Asks for a run of the district. A request still queued for it is returned instead of a second
   * one, so repeated asks while a run waits coalesce into that run.
   */
  async requestRun(district: string, origin: RunRequestOrigin): Promise<RunRequest> {
    const queued = await this.db
      .selectFrom('run_requests')
      .selectAll()
      .where('district_id', '=', district)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (queued) {
      // A person's ask outranks the schedule's: it must clear "needs attention" when it runs.
      if (origin === 'manual' && queued.origin !== 'manual')
        await this.db.updateTable('run_requests').set({ origin }).where('id', '=', queued.id).execute();
      return toRequest({ ...queued, origin: queued.origin === 'manual' ? 'manual' : origin });
    }
    const row: DbRunRequest = {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      district_id: district,
      origin,
      state: 'queued',
      requested_at: this.now(),
      taken_at: null,
      finished_at: null,
      run_id: null,
      status: null,
      reason: null,
    };
    await this.db.insertInto('run_requests').values(row).execute();
    return toRequest(row);
  }

  async getRequest(id: string): Promise<RunRequest | undefined> {
    const row = await this.db.selectFrom('run_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  /** Queued requests, oldest first. */
  async queuedRequests(limit = 100): Promise<RunRequest[]> {
    const rows = await this.db
      .selectFrom('run_requests')
      .selectAll()
      .where('state', '=', 'queued')
      .orderBy('requested_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRequest);
  }

  /** Claims a queued request; false when another process took it first. */
  async takeRequest(id: string): Promise<boolean> {
    const res = await this.db
      .updateTable('run_requests')
      .set({ state: 'running', taken_at: this.now() })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async finishRequest(
    id: string,
    outcome: { runId: string | null; status: string; reason: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('run_requests')
      .set({
        state: 'done',
        finished_at: this.now(),
        run_id: outcome.runId,
        status: outcome.status,
        reason: outcome.reason,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Puts a taken request back in the queue (the process stopped before it started). */
  async releaseRequest(id: string): Promise<void> {
    await this.db
      .updateTable('run_requests')
      .set({ state: 'queued', taken_at: null })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .execute();
  }

  /**
   * Requests a stopped process had taken go back to the queue (the run itself, if it started, is
   * finished by the next run of the district: the sync is crash-safe).
   */
  async requeueRunning(): Promise<number> {
    const res = await this.db
      .updateTable('run_requests')
      .set({ state: 'queued', taken_at: null })
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}
