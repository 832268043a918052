import type { Kysely } from 'kysely';

/**
 * CSV districts: a district whose roster arrives as CSV drops in a folder instead of from Clever.
 * The folder is kept with the schedule in `district_service`, not in the sync settings
 * (`districts.config`): those are part of the accounts' derive version, and where a district's files
 * arrive does not change what its accounts are. Null: a Clever district.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('district_service').addColumn('csv_folder', 'text').execute();
}
