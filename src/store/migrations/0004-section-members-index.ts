import type { Kysely } from 'kysely';
import type { MigrationDialect } from '../dialect/dialect.js';

/**
 * `section_members` loses its five-column primary key for a plain index on the section:
 * `(district_id, source, section_id)`.
 *
 * A section has ~20 member rows, and every read and write of them goes by section (replace a
 * section's members, count a district's enrollments). The primary key repeated the whole row in a
 * B-tree larger than the table itself and was maintained on every insert of a first sync; the index
 * on the section holds ~21 rows per key, which PostgreSQL stores once with a list of rows (B-tree
 * deduplication): a fraction of the size, and less PostgreSQL CPU when the same rows are loaded
 * again (figures in docs/benchmarks.md, "Figures behind store comments").
 *
 * What the key enforced still holds: a section's member rows are only ever written all together,
 * from the section's own record, one row per distinct (role, user) (store/encoding/record-index.ts linkRows),
 * and the record is unique by its own primary key. The store contract test checks a section that
 * lists a student twice.
 *
 * SQLite cannot drop a primary key, so the table is rebuilt there.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema of their own time
export async function up(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  await dialect.dropSectionMembersKey(db);
  await db.schema
    .createIndex('section_members_section_idx')
    .ifNotExists()
    .on('section_members')
    .columns(['district_id', 'source', 'section_id'])
    .execute();
}
