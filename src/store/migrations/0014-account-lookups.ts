import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * Two account queries every run makes read every account of the district; in a large district that
 * cost an events sync more than the changes it applied (figures in docs/benchmarks.md).
 *
 * - `accounts.record_source_id` compares bytewise, as the record ids it points at do (see
 *   MigrationDialect.idColumn). Joined to a record id of the other collation, the comparison had no
 *   collation an index was built with: the safety valve's count of the accounts a run would
 *   deactivate (run_pending_archives joined to accounts) scanned the accounts instead of probing
 *   `accounts_record_idx` once per pending archive.
 * - A partial index over guardian accounts: whether a district has any (see AccountsRepo.hasAny)
 *   is asked at the start of every run, and where guardians are not provisioned the answer is no,
 *   found only after reading every account. The index holds guardian accounts only, so students'
 *   and staff's writes never touch it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await dialect.accountRecordIdsBytewise(db);
  await db.schema
    .createIndex('accounts_guardian_idx')
    .ifNotExists()
    .on('accounts')
    .columns(['district_id', 'record_source'])
    .where(sql.ref('kind'), '=', 'guardian')
    .execute();
}
