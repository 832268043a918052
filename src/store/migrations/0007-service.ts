import type { Kysely } from 'kysely';

/**
 * The service around the core (`rostersync serve`, `worker`): a schedule and a "needs attention"
 * state per district, kept apart from the district's sync settings (`districts.config`) because
 * those settings are part of the accounts' derive version, and changing when a district runs must
 * not re-derive its accounts; and run requests (`runs start`), a row per "run this district now"
 * that the serving process takes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('district_service')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.primaryKey())
    /** Cron expression (5 or 6 fields); null: the default nightly schedule. */
    .addColumn('cron', 'text')
    /** IANA time zone the expression is read in; null: the default zone. */
    .addColumn('timezone', 'text')
    /** Why the district needs a person (e.g. its token was rejected); null when it does not. */
    .addColumn('attention', 'text')
    .addColumn('attention_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('run_requests')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('district_id', 'text', (c) => c.notNull())
    /** `schedule` or `manual` (a person asked: clears "needs attention" for that run). */
    .addColumn('origin', 'text', (c) => c.notNull())
    /** `queued`, `running`, `done`. */
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('taken_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('run_id', 'text')
    .addColumn('status', 'text')
    .addColumn('reason', 'text')
    .execute();
  await db.schema
    .createIndex('run_requests_state_idx')
    .ifNotExists()
    .on('run_requests')
    .columns(['state', 'requested_at'])
    .execute();
}
