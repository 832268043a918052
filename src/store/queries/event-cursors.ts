import type { Kysely } from 'kysely';
import type { DB, DbEventCursor } from '../schema.js';

/** A district's place in its source's event feed, and what its last full sync left (see 0012). */
export interface EventCursorState {
  district: string;
  /** The last event whose changes are committed; '' = the start of the feed; null = none. */
  cursor: string | null;
  cursorRunId: string | null;
  /** When the last full sync that finished began (ISO-8601); null: none has. */
  lastFullAt: string | null;
  lastFullRunId: string | null;
  /** The stamp of the settings and token that full sync ran with (see sync/sync-kind.ts). */
  settingsStamp: string | null;
  updatedAt: string;
}

function toState(r: DbEventCursor): EventCursorState {
  return {
    district: r.district_id,
    cursor: r.cursor,
    cursorRunId: r.cursor_run_id,
    lastFullAt: r.last_full_at,
    lastFullRunId: r.last_full_run_id,
    settingsStamp: r.settings_stamp,
    updatedAt: r.updated_at,
  };
}

/**
 * The event cursor of each district. A full sync notes the newest event before its walk
 * (`fullStarted`) and makes it the cursor once it has finished (`fullFinished`); an events sync moves
 * the cursor in the transaction of each batch it commits (`advance`).
 */
export class EventCursorsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => string,
  ) {}

  async get(district: string): Promise<EventCursorState | undefined> {
    const row = await this.db
      .selectFrom('event_cursors')
      .selectAll()
      .where('district_id', '=', district)
      .executeTakeFirst();
    return row ? toState(row) : undefined;
  }

  /** A full sync of `runId` begins; `newest` is the newest event id ('' when the feed is empty). */
  async fullStarted(district: string, runId: string, newest: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('event_cursors')
      .values({
        district_id: district,
        cursor: null,
        cursor_run_id: null,
        full_cursor: newest,
        full_run_id: runId,
        last_full_at: null,
        last_full_run_id: null,
        settings_stamp: null,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column('district_id').doUpdateSet({ full_cursor: newest, full_run_id: runId, updated_at: now }),
      )
      .execute();
  }

  /**
   * The full sync `runId` (begun at `startedAt`) has read every stream: the event it noted before its
   * walk becomes the cursor. Nothing happens when another full sync has begun since.
   */
  async fullFinished(
    district: string,
    runId: string,
    startedAt: string,
    settingsStamp: string,
  ): Promise<void> {
    const row = await this.db
      .selectFrom('event_cursors')
      .select(['full_cursor', 'full_run_id'])
      .where('district_id', '=', district)
      .executeTakeFirst();
    if (!row || row.full_run_id !== runId) return;
    await this.db
      .updateTable('event_cursors')
      .set({
        cursor: row.full_cursor,
        cursor_run_id: runId,
        last_full_at: startedAt,
        last_full_run_id: runId,
        settings_stamp: settingsStamp,
        updated_at: this.now(),
      })
      .where('district_id', '=', district)
      .execute();
  }

  /** Inside a batch's transaction: the batch's events are applied up to `cursor`. */
  async advance(district: string, cursor: string, runId: string): Promise<void> {
    await this.db
      .updateTable('event_cursors')
      .set({ cursor, cursor_run_id: runId, updated_at: this.now() })
      .where('district_id', '=', district)
      .execute();
  }
}
