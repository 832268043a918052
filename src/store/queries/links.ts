import { expressionBuilder, sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import { hasLines, preparedLinkLines, preparedLinks } from '../encoding/prepared-row.js';
import type { PreparedRow } from '../encoding/prepared-row.js';
import { linkRows } from '../encoding/record-index.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { SqlValue } from '../dialect/bulk-writer.js';
import type { DB } from '../schema.js';
import type { RecordScope, RecordWrite } from './records.js';
import { diffLinks } from './link-diff.js';

/**
 * Where the link rows of sections and contacts live: scope columns, the record's id, then the link,
 * whose first `keyWidth` values identify it within its record (see queries/link-diff.ts).
 */
export const LINK_TABLES = {
  sections: {
    table: 'section_members',
    columns: ['district_id', 'source', 'section_id', 'role', 'user_id'],
    keyWidth: 2,
  },
  contacts: {
    table: 'contact_students',
    columns: ['district_id', 'source', 'contact_id', 'student_id', 'relationship', 'type'],
    keyWidth: 1,
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

  /**
   * Replaces the link rows (see encoding/record-index.ts linkRows) of the written sections or
   * contacts: a new record's are inserted, a stored one's changed by their difference (see
   * link-diff.ts).
   */
  async replace(scope: RecordScope, entity: LinkedEntity, rows: readonly RecordWrite[]): Promise<void> {
    const stored = rows.filter((r) => !r.isNew);
    if (stored.length > 0) {
      const { keyWidth } = LINK_TABLES[entity];
      const before = await this.read(
        entity,
        scope,
        stored.map((r) => r.sourceId),
      );
      const diff = diffLinks(
        stored.map((r) => ({ id: r.sourceId, links: linkRows(entity, r.data) })),
        before,
        keyWidth,
      );
      await this.deleteKeys(entity, scope, diff.remove);
      await this.q.bulk.insertNew(
        LINK_TABLES[entity],
        diff.add.map((link) => [scope.district, scope.source, ...link]),
      );
    }
    await this.insert(
      scope,
      entity,
      rows.filter((r) => r.isNew),
    );
  }

  /**
   * The reference path of {@link replace}: deletes every link row of the stored records and inserts
   * all their rows again. Same table afterwards (test/store/link-diff.property.test.ts).
   */
  async rewrite(scope: RecordScope, entity: LinkedEntity, rows: readonly RecordWrite[]): Promise<void> {
    await this.delete(
      entity,
      scope,
      rows.filter((r) => !r.isNew).map((r) => r.sourceId),
    );
    await this.insert(scope, entity, rows);
  }

  /** The stored link rows of `ids`: per record, its rows' values after its id. */
  async read(
    entity: LinkedEntity,
    scope: RecordScope,
    ids: readonly string[],
  ): Promise<Map<string, Array<Array<string | null>>>> {
    const { table, columns } = LINK_TABLES[entity];
    const values = columns.slice(3);
    const out = new Map<string, Array<Array<string | null>>>();
    for (const part of chunk(ids, this.q.maxBindParameters - 8)) {
      if (part.length === 0) continue;
      const where = this.q.anyOf(expressionBuilder<DB, typeof table>(), columns[2], part);
      const found = await sql<Record<string, string | null>>`
        select ${sql.join(columns.slice(2).map((c) => sql.ref(c)))} from ${sql.table(table)}
        where district_id = ${scope.district} and source = ${scope.source} and ${where}`.execute(this.db);
      for (const row of found.rows) {
        const id = row[columns[2]]!;
        let list = out.get(id);
        if (!list) out.set(id, (list = []));
        list.push(values.map((c) => row[c] ?? null));
      }
    }
    return out;
  }

  /** Deletes link rows by key: each of `keys` is the record's id, then the link's key values. */
  private async deleteKeys(
    entity: LinkedEntity,
    scope: RecordScope,
    keys: readonly string[][],
  ): Promise<void> {
    const { table, columns, keyWidth } = LINK_TABLES[entity];
    const keyColumns = columns.slice(2, 3 + keyWidth);
    // The record ids again, as one condition the table's (district, source, record id) index serves:
    // a tuple list alone may be planned as a scan of the whole table.
    for (const part of chunk(keys, Math.floor((this.q.maxBindParameters - 8) / (keyColumns.length + 1)))) {
      if (part.length === 0) continue;
      const tuples: RawBuilder<unknown>[] = part.map((k) => sql`(${sql.join(k)})`);
      await this.db
        .deleteFrom(table)
        .where('district_id', '=', scope.district)
        .where('source', '=', scope.source)
        .where((eb) => this.q.anyOf(eb, columns[2], [...new Set(part.map((k) => k[0]!))]))
        .where(sql<boolean>`(${sql.join(keyColumns.map((c) => sql.ref(c)))}) in (values ${sql.join(tuples)})`)
        .execute();
    }
  }

  /** Inserts every link row of `rows`, as lines where the source prepared them and the store loads them. */
  private async insert(
    scope: RecordScope,
    entity: LinkedEntity,
    rows: readonly RecordWrite[],
  ): Promise<void> {
    if (rows.length === 0) return;
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
