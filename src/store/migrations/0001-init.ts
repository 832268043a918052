import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * Secondary indexes are few on purpose: each one is paid for on every one of the million inserts of
 * a large first sync. Lookups the engine makes have an index; reverse lookups nobody makes yet
 * (a user's sections, an account's history) get theirs in the migration that starts making them.
 *
 * The initial schema: districts, the seven roster record tables, memberships, runs with their problems
 * and pending archives, checkpoints, the per-district lock, accounts with identities, and the account
 * change feed. Portable types only (text, integer); times are ISO-8601 text, JSON is text.
 */

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A not-null id column that compares bytewise on every dialect (see MigrationDialect.idColumn). */
function idColumn(dialect: MigrationDialect) {
  return (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder => dialect.idColumn(col);
}

function recordTable(db: AnyDb, dialect: MigrationDialect, name: string) {
  return db.schema
    .createTable(name)
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', idColumn(dialect))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addPrimaryKeyConstraint(`${name}_pk`, ['district_id', 'source', 'source_id']);
}

export async function up(db: AnyDb, dialect: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('districts')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('clever_district_id', 'text', (c) => c.unique())
    .addColumn('data', 'text')
    .addColumn('hash', 'text')
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('token_ciphertext', 'text')
    .addColumn('token_key_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await recordTable(db, dialect, 'schools')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sis_id', 'text')
    .addColumn('state_id', 'text')
    .addColumn('school_number', 'text')
    .execute();
  await recordTable(db, dialect, 'terms').execute();
  await recordTable(db, dialect, 'courses').execute();
  await recordTable(db, dialect, 'sections')
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('term_id', 'text')
    .addColumn('course_id', 'text')
    .execute();
  await recordTable(db, dialect, 'students')
    .addColumn('sis_id', 'text')
    .addColumn('state_id', 'text')
    .addColumn('student_number', 'text')
    .addColumn('email', 'text')
    .addColumn('school_id', 'text', (c) => c.notNull())
    .addColumn('grade', 'text')
    .execute();
  await recordTable(db, dialect, 'staff')
    .addColumn('sis_id', 'text')
    .addColumn('state_id', 'text')
    .addColumn('staff_id', 'text')
    .addColumn('teacher_number', 'text')
    .addColumn('email', 'text')
    .addColumn('roles', 'text', (c) => c.notNull())
    .execute();
  await recordTable(db, dialect, 'contacts').addColumn('sis_id', 'text').addColumn('email', 'text').execute();

  // Identifier lookups for schools (CSV files reference schools by these). People are matched through
  // account_identities, so their tables carry no extra indexes: every index is paid for on each of a
  // million inserts of a first sync.
  for (const [table, cols] of [
    ['schools', ['sis_id', 'state_id', 'school_number']],
    ['sections', ['school_id']],
  ] as const) {
    for (const col of cols) {
      await db.schema
        .createIndex(`${table}_${col}_idx`)
        .ifNotExists()
        .on(table)
        .columns(['district_id', col])
        .execute();
    }
  }

  await db.schema
    .createTable('section_members')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('section_id', 'text', idColumn(dialect))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', idColumn(dialect))
    .addPrimaryKeyConstraint('section_members_pk', ['district_id', 'source', 'section_id', 'role', 'user_id'])
    .execute();

  await db.schema
    .createTable('contact_students')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'text', idColumn(dialect))
    .addColumn('student_id', 'text', idColumn(dialect))
    .addColumn('relationship', 'text')
    .addColumn('type', 'text')
    .addPrimaryKeyConstraint('contact_students_pk', ['district_id', 'source', 'contact_id', 'student_id'])
    .execute();

  await db.schema
    .createTable('sync_runs')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('counts', 'text', (c) => c.notNull())
    .addColumn('stats', 'text', (c) => c.notNull())
    .addColumn('problem_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('resolution', 'text')
    .addColumn('resolved_at', 'text')
    .execute();
  await db.schema
    .createIndex('sync_runs_district_idx')
    .ifNotExists()
    .on('sync_runs')
    .columns(['district_id', 'started_at'])
    .execute();

  await db.schema
    .createTable('run_problems')
    .ifNotExists()
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text')
    .addColumn('field', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_problems_pk', ['run_id', 'seq'])
    .execute();

  await db.schema
    .createTable('run_pending_archives')
    .ifNotExists()
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    // Usually the run's own source; a Clever run also retires what a lower source (CSV) left behind.
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', idColumn(dialect))
    .addPrimaryKeyConstraint('run_pending_archives_pk', ['run_id', 'entity', 'source', 'source_id'])
    .execute();

  await db.schema
    .createTable('checkpoints')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('cursor', 'text')
    .addColumn('pages', 'integer', (c) => c.notNull())
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('complete', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('checkpoints_pk', ['district_id', 'source', 'stream'])
    .execute();

  await db.schema
    .createTable('sync_locks')
    .ifNotExists()
    .addColumn('district_id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('accounts')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('record_source', 'text')
    .addColumn('record_source_id', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('access', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('deactivated_at', 'text')
    .execute();
  await db.schema
    .createIndex('accounts_record_idx')
    .ifNotExists()
    .on('accounts')
    .columns(['district_id', 'record_source', 'record_source_id'])
    .execute();

  await db.schema
    .createTable('account_identities')
    .ifNotExists()
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_identities_pk', ['account_id', 'type'])
    .execute();
  await db.schema
    .createIndex('account_identities_lookup_idx')
    .ifNotExists()
    .on('account_identities')
    .columns(['district_id', 'type', 'value'])
    .execute();

  await db.schema
    .createTable('account_changes')
    .ifNotExists()
    .addColumn('seq', dialect.autoIncrementKeyType, (c) => dialect.autoIncrementKey(c))
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
}
