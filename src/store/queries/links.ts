import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { hasLines, preparedLinkLines, preparedLinks } from '../encoding/prepared-row.js';
import type { PreparedRow } from '../encoding/prepared-row.js';
import { linkRows } from '../encoding/record-index.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { SqlValue } from '../dialect/bulk-writer.js';
import type { DB } from '../schema.js';
import type { RecordScope, RecordWrite } from './records.js';

/** Where the link rows of sections and contacts live: scope columns, the record's id, then the link. */
export const LINK_TABLES = {
  sections: {
    table: 'section_members',
    columns: ['district_id', 'source', 'section_id', 'role', 'user_id'],
  },
  contacts: {
    table: 'contact_students',
    columns: ['district_id', 'source', 'contact_id', 'student_id', 'relationship', 'type'],
  },
} as const;

export type LinkedEntity = keyof typeof LINK_TABLES;

/**
 * The rows a record implies in a link table (section members, contact–student links), replaced
 * whenever the record is written and deleted when it is archived.
 */
export class LinksRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
  ) {}

  /** Section memberships of active sections, by role. */
  async enrollmentCounts(district: string): Promise<{ students: number; teachers: number }> {
    const rows = await this.db
      .selectFrom('section_members')
      .select(['role', (eb) => eb.fn.countAll<number>().as('n')])
      .where('district_id', '=', district)
      .groupBy('role')
      .execute();
    const get = (role: string) => Number(rows.find((r) => r.role === role)?.n ?? 0);
    return { students: get('student'), teachers: get('teacher') };
  }

  /** Deletes the link rows of the given sections or contacts. */
  async delete(entity: LinkedEntity, scope: RecordScope, ids: readonly string[]): Promise<void> {
    const { table, columns } = LINK_TABLES[entity];
    for (const part of chunk(ids, this.q.maxBindParameters - 8)) {
      if (part.length === 0) continue;
      await this.db
        .deleteFrom(table)
        .where('district_id', '=', scope.district)
        .where('source', '=', scope.source)
        .where(sql.ref<string>(columns[2]), 'in', part)
        .execute();
    }
  }

  /** Replaces the link rows (see encoding/record-index.ts linkRows) of the written sections or contacts. */
  async replace(scope: RecordScope, entity: LinkedEntity, rows: readonly RecordWrite[]): Promise<void> {
    // New records have no rows to replace.
    await this.delete(
      entity,
      scope,
      rows.filter((r) => !r.isNew).map((r) => r.sourceId),
    );
    const bulk = this.q.bulk;
    const copies = bulk.loadsLines();
    const links: SqlValue[][] = [];
    const lined: PreparedRow[] = [];
    for (const r of rows) {
      const p = r.prepared;
      // Link rows the source prepared as lines follow the scope columns (see RecordWrite.prepared).
      if (copies && p && hasLines(p)) {
        lined.push(p);
        continue;
      }
      for (const link of (p && preparedLinks(p, entity)) ?? linkRows(entity, r.data))
        links.push([scope.district, scope.source, r.sourceId, ...link]);
    }
    if (lined.length > 0)
      await bulk.insertLines(LINK_TABLES[entity], [scope.district, scope.source], preparedLinkLines(lined));
    await bulk.insertNew(LINK_TABLES[entity], links);
  }
}
