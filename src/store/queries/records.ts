/**
 * Roster records, the store's hottest repository: the reads a reconcile makes (states by id and by
 * cursor range), the bulk write of changed rows with its two forms of input (rows a source prepared,
 * see encoding/prepared-row.ts, and plain records encoded here), archiving, and the listings and counts the API and
 * status read. It stays one file above ~400 lines because these all share the record tables' column
 * lists and scope; links and raw fingerprints, which have their own tables or columns, are apart.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Entity, EntityData, SourceKind, StoredRecord } from '../../model/entities.js';
import { upsertKind } from '../../model/hash.js';
import type { KnownState, StoredState, UpsertKind } from '../../model/hash.js';
import { INDEX_COLUMNS, indexValues } from '../encoding/record-index.js';
import { hasLines, preparedIndexValues, preparedJson, preparedRowLines } from '../encoding/prepared-row.js';
import type { PreparedRow, RawFingerprint } from '../encoding/prepared-row.js';
import type { DialectQueries } from '../dialect/dialect.js';
import { chunk } from '../sql-helpers.js';
import type { LinksRepo } from './links.js';
import type { BulkSpec, SqlValue } from '../dialect/bulk-writer.js';
import type { DB, DbRecordBase } from '../schema.js';

/** A record ready to write: its source id, canonical data and content hash. */
export interface RecordWrite<E extends Entity = Entity> {
  sourceId: string;
  data: EntityData[E];
  hash: string;
  /** The canonical JSON the hash was computed from, when the caller has it (saves a stringify). */
  json?: string;
  /** The caller checked (under the district lock) that no row with this key exists: insert, no upsert. */
  isNew?: boolean;
  /**
   * Optional, from a source that prepared it while decoding (see SourceRecord.prepared): the row in
   * the form this store asked for. Rows prepared as COPY lines are copied as they are where the
   * store loads lines now; otherwise what the prepared row lacks is encoded from `data`.
   */
  prepared?: PreparedRow | undefined;
  /**
   * Optional, from a Clever source, for a record written exactly as mapped: the hash of its item's
   * bytes and its filter scope (see migrations/0005-raw-item-hash.ts). Absent: the row keeps
   * neither, and a re-sync decodes its item.
   */
  fingerprint?: RawFingerprint | undefined;
}

export interface RecordScope {
  district: string;
  source: SourceKind;
}

export type UpsertCounts = Record<UpsertKind, number>;

/** The columns every record table has; what `write` fills and `get`/`list` read. */
export const BASE_COLUMNS = [
  'district_id',
  'source',
  'source_id',
  'hash',
  'data',
  'archived_at',
  'created_at',
  'updated_at',
  'run_id',
] as const;

/** What `write` fills: the base columns, then the raw item hash and scope (see RecordWrite.fingerprint). */
const WRITE_COLUMNS = [...BASE_COLUMNS, 'raw_hash', 'scope_ids'] as const;

/** The columns of a record's row as lines of COPY text, after the leading ones (see store/encoding/record-index.ts writeRecordLine). */
const LINE_COLUMNS = ['source_id', 'hash', 'data', 'raw_hash', 'scope_ids'] as const;

/** The columns a record's row as lines of COPY text follows (see RecordWrite.prepared). */
const LINE_LEAD_COLUMNS = [
  'district_id',
  'source',
  'archived_at',
  'created_at',
  'updated_at',
  'run_id',
] as const;

/**
 * Roster records: read states for reconcile, write changed rows in bulk, archive, list.
 * Every method works inside or outside a transaction (pass a `Transaction` as `db`).
 */
export class RecordsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
    private readonly now: () => string,
    private readonly links: LinksRepo,
  ) {}

  /**
   * Stored state of the given ids (missing ids are not in the map): hash and archived flag for
   * reconcile, and the raw item hash and scope with which a source recognises an unchanged item
   * before decoding it (see KnownState).
   */
  async states(scope: RecordScope, entity: Entity, ids: readonly string[]): Promise<Map<string, KnownState>> {
    const out = new Map<string, KnownState>();
    for (const part of chunk(ids, this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.byIds(scope, entity, part)
        .select(['source_id', 'hash', 'archived_at', 'raw_hash', 'scope_ids'])
        .execute();
      for (const r of rows)
        out.set(r.source_id, {
          hash: r.hash,
          archived: r.archived_at !== null,
          raw: r.raw_hash,
          scope: r.scope_ids,
        });
    }
    return out;
  }

  /**
   * The stored data of the given ids (missing ids are not in the map): for records a source found
   * unchanged without decoding them (see sources/stored-only.ts), when their fields are needed.
   */
  async storedData<E extends Entity>(
    scope: RecordScope,
    entity: E,
    ids: readonly string[],
  ): Promise<Map<string, { hash: string; data: EntityData[E] }>> {
    const out = new Map<string, { hash: string; data: EntityData[E] }>();
    for (const part of chunk(ids, this.q.maxBindParameters - 4)) {
      if (part.length === 0) continue;
      const rows = await this.byIds(scope, entity, part).select(['source_id', 'hash', 'data']).execute();
      for (const r of rows) out.set(r.source_id, { hash: r.hash, data: JSON.parse(r.data) as EntityData[E] });
    }
    return out;
  }

  /** The rows of `entity` in `scope` with one of `ids` (at most a bind-parameter limit's worth). */
  private byIds(scope: RecordScope, entity: Entity, ids: readonly string[]) {
    return this.db
      .selectFrom(entity)
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source)
      .where((eb) => this.q.anyOf(eb, 'source_id', ids));
  }

  /**
   * Stored hash and archived flag of every row (active or archived) with a source id in
   * `(after, upTo]`, compared bytewise (null bounds are open). One index range scan: for a page of an
   * ordered stream this is both the reconcile read and the absent-record check, and on a first sync
   * it finds nothing at the cost of one probe instead of one per record.
   */
  async statesInRange(
    scope: RecordScope,
    entity: Entity,
    after: string | null,
    upTo: string | null,
  ): Promise<Map<string, StoredState>> {
    let q = this.db
      .selectFrom(entity)
      .select(['source_id', 'hash', 'archived_at', 'raw_hash'])
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source);
    if (after !== null) q = q.where('source_id', '>', after);
    if (upTo !== null) q = q.where('source_id', '<=', upTo);
    const out = new Map<string, StoredState>();
    for (const r of await q.execute())
      out.set(r.source_id, { hash: r.hash, archived: r.archived_at !== null, raw: r.raw_hash });
    return out;
  }

  /**
   * Inserts or overwrites rows (created, updated or restored records). A row is only rewritten when
   * its hash differs or it was archived, so replaying a batch is harmless. Memberships derived from
   * sections and contacts are replaced for the written rows.
   */
  async write(
    scope: RecordScope,
    entity: Entity,
    rows: readonly RecordWrite[],
    runId: string | null,
  ): Promise<void> {
    if (rows.length === 0) return;
    const now = this.now();
    const indexCols = INDEX_COLUMNS[entity];
    const spec: BulkSpec = {
      table: entity,
      columns: [...WRITE_COLUMNS, ...indexCols],
      conflict: {
        target: ['district_id', 'source', 'source_id'],
        // archived_at is null in every written row: a write is always a create, update or restore.
        update: [
          'hash',
          'data',
          'archived_at',
          'updated_at',
          'run_id',
          'raw_hash',
          'scope_ids',
          ...indexCols,
        ],
        when: { differs: 'hash', isNotNull: 'archived_at' },
      },
    };
    const bulk = this.q.bulk;
    const toRow = (r: RecordWrite): SqlValue[] => {
      const p = r.prepared;
      const row: SqlValue[] = [
        scope.district,
        scope.source,
        r.sourceId,
        r.hash,
        bulk.json(p && preparedJson(p), r.json) ?? JSON.stringify(r.data),
        null,
        now,
        now,
        runId,
        r.fingerprint?.raw ?? null,
        r.fingerprint?.scope ?? null,
      ];
      for (const v of (p && preparedIndexValues(p, entity)) ?? indexValues(entity, r.data)) row.push(v);
      return row;
    };
    // New records whose rows the source prepared as lines go in as those lines, after the columns
    // every row of this write shares, where the store loads lines now; the rest as values.
    const fresh = rows.filter((r) => r.isNew);
    const lined = bulk.loadsLines() ? fresh.filter((r) => r.prepared && hasLines(r.prepared)) : [];
    if (lined.length > 0) {
      await bulk.insertLines(
        { table: entity, columns: [...LINE_LEAD_COLUMNS, ...LINE_COLUMNS, ...indexCols] },
        [scope.district, scope.source, null, now, now, runId],
        preparedRowLines(lined.map((r) => r.prepared!)),
      );
    }
    await bulk.insertNew(
      spec,
      (lined.length > 0 ? fresh.filter((r) => !(r.prepared && hasLines(r.prepared))) : fresh).map(toRow),
    );
    await bulk.write(spec, rows.filter((r) => !r.isNew).map(toRow));
    if (entity === 'sections' || entity === 'contacts') await this.links.replace(scope, entity, rows);
  }

  /**
   * Reads the stored state of `rows`, writes only the ones that are new, changed or archived, and
   * returns how many fell in each class. A second identical call writes nothing.
   */
  async upsert(
    scope: RecordScope,
    entity: Entity,
    rows: readonly RecordWrite[],
    runId: string | null,
  ): Promise<UpsertCounts> {
    const counts: UpsertCounts = { created: 0, updated: 0, unchanged: 0, restored: 0 };
    const stored = await this.states(
      scope,
      entity,
      rows.map((r) => r.sourceId),
    );
    const changed: RecordWrite[] = [];
    for (const r of rows) {
      const kind = upsertKind(stored.get(r.sourceId), r.hash);
      counts[kind]++;
      if (kind !== 'unchanged') changed.push(r);
    }
    await this.write(scope, entity, changed, runId);
    return counts;
  }

  /** Marks records archived (soft delete). Returns how many active rows were archived. */
  async archive(
    scope: RecordScope,
    entity: Entity,
    ids: readonly string[],
    runId: string | null,
  ): Promise<number> {
    const table = entity;
    const now = this.now();
    let n = 0;
    for (const part of chunk(ids, this.q.maxBindParameters - 8)) {
      if (part.length === 0) continue;
      const res = await this.db
        .updateTable(table)
        .set({ archived_at: now, updated_at: now, run_id: runId })
        .where('district_id', '=', scope.district)
        .where('source', '=', scope.source)
        .where('source_id', 'in', part)
        .where('archived_at', 'is', null)
        .executeTakeFirst();
      n += Number(res.numUpdatedRows);
      if (entity === 'sections' || entity === 'contacts') await this.links.delete(entity, scope, part);
    }
    return n;
  }

  /**
   * Active ids in `(after, upTo]` in bytewise ascending order (null bounds are open). Used to find
   * records absent from an ordered source stream page by page, without holding every id in memory.
   */
  async activeIdsInRange(
    scope: RecordScope,
    entity: Entity,
    after: string | null,
    upTo: string | null,
  ): Promise<string[]> {
    let q = this.activeIdsAfter(scope, entity, after);
    if (upTo !== null) q = q.where('source_id', '<=', upTo);
    const rows = await q.execute();
    return rows.map((r) => r.source_id);
  }

  /** Active ids of a scope after a cursor (null: from the start), ascending. */
  private activeIdsAfter(scope: RecordScope, entity: Entity, after: string | null) {
    let q = this.db
      .selectFrom(entity)
      .select('source_id')
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source)
      .where('archived_at', 'is', null);
    if (after !== null) q = q.where('source_id', '>', after);
    return q.orderBy('source_id');
  }

  /** Pages through active ids (ascending) after a cursor; for streaming comparisons of large sets. */
  async activeIdsPage(
    scope: RecordScope,
    entity: Entity,
    after: string | null,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.activeIdsAfter(scope, entity, after).limit(limit).execute();
    return rows.map((r) => r.source_id);
  }

  async get<E extends Entity>(
    scope: RecordScope,
    entity: E,
    sourceId: string,
  ): Promise<StoredRecord<E> | undefined> {
    const table: Entity = entity;
    const row = await this.db
      .selectFrom(table)
      .select(BASE_COLUMNS)
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source)
      .where('source_id', '=', sourceId)
      .executeTakeFirst();
    return row ? toStored(entity, row) : undefined;
  }

  /** Records of one entity in source-id order, paged by cursor. `active` (default true) skips archived. */
  async list<E extends Entity>(
    scope: { district: string; source?: SourceKind },
    entity: E,
    opts: { after?: string; limit?: number; active?: boolean } = {},
  ): Promise<StoredRecord<E>[]> {
    const table: Entity = entity;
    let q = this.db.selectFrom(table).select(BASE_COLUMNS).where('district_id', '=', scope.district);
    if (scope.source) q = q.where('source', '=', scope.source);
    if (opts.active !== false) q = q.where('archived_at', 'is', null);
    if (opts.after !== undefined) q = q.where('source_id', '>', opts.after);
    const rows = await q
      .orderBy('source_id')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map((r) => toStored(entity, r));
  }

  /** True when any row of the entity (active or archived) is stored for the scope. */
  async anyStored(scope: RecordScope, entity: Entity): Promise<boolean> {
    const row = await this.db
      .selectFrom(entity)
      .select('source_id')
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Active (or archived) record count of one entity. */
  async count(
    scope: { district: string; source?: SourceKind },
    entity: Entity,
    opts: { archived?: boolean } = {},
  ): Promise<number> {
    let q = this.db
      .selectFrom(entity)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('district_id', '=', scope.district);
    if (scope.source) q = q.where('source', '=', scope.source);
    q = opts.archived ? q.where('archived_at', 'is not', null) : q.where('archived_at', 'is', null);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Active staff per role (a multi-role person counts under each role). */
  async staffRoleCounts(district: string): Promise<Record<string, number>> {
    const out: Record<string, number> = { teacher: 0, staff: 0, district_admin: 0 };
    for (const role of Object.keys(out)) {
      const row = await this.db
        .selectFrom('staff')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('district_id', '=', district)
        .where('archived_at', 'is', null)
        .where(sql<string>`',' || roles || ','`, 'like', `%,${role},%`)
        .executeTakeFirstOrThrow();
      out[role] = Number(row.n);
    }
    return out;
  }

  /** Students per primary school id, active and archived (what a school filter change moves). */
  async studentsPerSchool(district: string): Promise<Map<string, { active: number; archived: number }>> {
    const rows = await this.db
      .selectFrom('students')
      .select([
        'school_id',
        (eb) => eb.fn.countAll<number>().as('n'),
        (eb) => eb.fn.count<number>('archived_at').as('archived'),
      ])
      .where('district_id', '=', district)
      .groupBy('school_id')
      .execute();
    const out = new Map<string, { active: number; archived: number }>();
    for (const r of rows)
      out.set(r.school_id, { active: Number(r.n) - Number(r.archived), archived: Number(r.archived) });
    return out;
  }

  /** Finds active records of an entity by an indexed identifier column. */
  async findByIdentifier(
    scope: RecordScope,
    entity: 'schools' | 'students' | 'staff' | 'contacts',
    column:
      'sis_id' | 'state_id' | 'school_number' | 'student_number' | 'staff_id' | 'teacher_number' | 'email',
    value: string,
  ): Promise<string[]> {
    const rows = await this.db
      .selectFrom(entity)
      .select('source_id')
      .where('district_id', '=', scope.district)
      .where('source', '=', scope.source)
      .where(sql.ref<string>(column), '=', column === 'email' ? value.trim().toLowerCase() : value)
      .where('archived_at', 'is', null)
      .execute();
    return rows.map((r) => r.source_id);
  }
}

/** A record table's row as a StoredRecord (its data parsed). */
export function toStored<E extends Entity>(
  entity: E,
  row: Pick<
    DbRecordBase,
    | 'district_id'
    | 'source'
    | 'source_id'
    | 'hash'
    | 'data'
    | 'archived_at'
    | 'created_at'
    | 'updated_at'
    | 'run_id'
  >,
): StoredRecord<E> {
  return {
    entity,
    district: row.district_id,
    source: row.source as SourceKind,
    sourceId: row.source_id,
    hash: row.hash,
    data: JSON.parse(row.data) as EntityData[E],
    archivedAt: row.archived_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    runId: row.run_id,
  };
}
