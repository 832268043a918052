import type { Kysely } from 'kysely';

/**
 * Incremental syncs from Clever's Events API. Per district: the event cursor (the last event whose
 * changes are committed; written in the same transaction as the batch it covers) and what the last
 * full sync left (the newest event id read before its walk began, when it ran, and a stamp of the
 * settings and token it ran with, so that `auto` knows when a full sync is due). Kept apart from
 * `districts.config`: those settings are part of the accounts' derive version.
 *
 * Each run also says which kind of sync it was (`full` or `events`) and why (`sync_runs`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('event_cursors')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.primaryKey())
    /** The last event applied; '' = the start of the feed (it was empty); null = none. */
    .addColumn('cursor', 'text')
    .addColumn('cursor_run_id', 'text')
    /** The newest event id read when the latest full sync began ('' = the feed was empty). */
    .addColumn('full_cursor', 'text')
    .addColumn('full_run_id', 'text')
    /** When the last full sync that finished (succeeded or held) began, ISO-8601. */
    .addColumn('last_full_at', 'text')
    .addColumn('last_full_run_id', 'text')
    /** A hash of the school filter, matching keys, account settings and token of that full sync. */
    .addColumn('settings_stamp', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('sync_runs').addColumn('sync_kind', 'text').execute();
  await db.schema.alterTable('sync_runs').addColumn('sync_kind_reason', 'text').execute();
}
