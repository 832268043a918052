import type { Kysely } from 'kysely';

/**
 * Every record table gets `raw_hash` and `scope_ids`, both nullable: what lets a re-sync recognise
 * an unchanged Clever item by its bytes alone, without parsing, mapping or hashing it (see
 * sources/clever/page-decoder.ts rawItemHash and PageOptions.known).
 *
 * `raw_hash` is the hash of the bytes of the item the record was mapped from, with the mapping's
 * version in it; it is set only when the record was stored exactly as mapped (no filter changed it,
 * no warning was raised). `scope_ids` is then what the school and contact filters look at (students
 * and staff their school ids, sections their school, contacts their students) as a JSON array. Rows
 * written before this migration have neither: the next re-sync decodes them as before, finds them
 * unchanged and stores just those two columns (see RawFingerprintsRepo.refresh).
 */
const TABLES = ['schools', 'terms', 'courses', 'sections', 'students', 'staff', 'contacts'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await db.schema.alterTable(table).addColumn('raw_hash', 'text').execute();
    await db.schema.alterTable(table).addColumn('scope_ids', 'text').execute();
  }
}
