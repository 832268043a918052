import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { bound } from '../encoding/copy-chunks.js';
import type { SqlValue } from '../encoding/copy-chunks.js';
import type { RowLines } from '../encoding/row-text.js';
import type { DB } from '../schema.js';

export type { SqlValue } from '../encoding/copy-chunks.js';

/**
 * Bulk inserts and upserts for the hot write paths: one interface for repositories, one engine per
 * dialect underneath (see sqlite.ts and postgres.ts for why each engine writes the way it does).
 * Every column written through here is text (or null): ids, hashes, JSON, ISO times.
 */
export interface BulkWriter {
  /**
   * Inserts rows known to be new (no conflict possible: the caller checked under the district
   * lock), by the engine's fastest way in.
   */
  insertNew(spec: Omit<BulkSpec, 'conflict'>, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void>;
  /**
   * Whether {@link insertLines} can load lines as they are here and now (PostgreSQL inside a
   * transaction: COPY). Where it cannot, the caller writes the rows as values.
   */
  loadsLines(): boolean;
  /**
   * Inserts rows known to be new, given as lines of COPY text (see encoding/row-text.ts) that each
   * follow the same leading values: `spec.columns` names the leading columns, then the lines'. Only
   * where {@link loadsLines}: nothing decodes lines back into values.
   */
  insertLines(
    spec: Omit<BulkSpec, 'conflict'>,
    lead: readonly SqlValue[],
    blocks: readonly RowLines[],
  ): Promise<void>;
  /** Inserts or upserts rows (see BulkSpec.conflict). */
  write(spec: BulkSpec, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void>;
  /**
   * The form in which to hand this writer a JSON value a source may hold both ways: its UTF-8
   * bytes where the writer copies bytes as they are, else its text. Undefined when the wanted form
   * is missing (the caller stringifies).
   */
  json(bytes: Uint8Array | undefined, text: string | undefined): SqlValue | undefined;
}

export interface BulkSpec {
  table: keyof DB;
  columns: readonly string[];
  /** ON CONFLICT target; absent = plain insert. */
  conflict?: {
    target: readonly string[];
    /** Columns set from `excluded`; empty = DO NOTHING. */
    update: readonly string[];
    /**
     * Update only where the stored row's `differs` column differs from the incoming one, or its
     * `isNotNull` column is not null.
     */
    when?: { differs: string; isNotNull: string };
  };
}

export const isBytes = (v: SqlValue): boolean => v instanceof Uint8Array;

export function quote(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

/** `insert into "table" ("col", …)`, without what follows. */
export function insertInto(spec: Omit<BulkSpec, 'conflict'>): string {
  return `insert into ${quote(spec.table)} (${spec.columns.map(quote).join(', ')})`;
}

export function conflictClause(spec: BulkSpec): string {
  const c = spec.conflict;
  if (!c) return '';
  const target = `(${c.target.map(quote).join(', ')})`;
  if (c.update.length === 0) return ` on conflict ${target} do nothing`;
  const set = c.update.map((col) => `${quote(col)} = excluded.${quote(col)}`).join(', ');
  const t = quote(spec.table);
  const when = c.when
    ? ` where ${t}.${quote(c.when.differs)} <> excluded.${quote(c.when.differs)} or ${t}.${quote(c.when.isNotNull)} is not null`
    : '';
  return ` on conflict ${target} do update set ${set}${when}`;
}

/** Multi-row `INSERT … VALUES`, chunked under the bind-parameter limit. */
export async function insertValues(
  db: Kysely<DB>,
  spec: BulkSpec,
  rows: ReadonlyArray<readonly SqlValue[]>,
  maxBindParameters: number,
): Promise<void> {
  const head = `${insertInto(spec)} values `;
  const tail = conflictClause(spec);
  const perRow = spec.columns.length;
  const size = Math.max(1, Math.floor(maxBindParameters / perRow));
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    const values = sql.join(part.map((r) => sql`(${sql.join(r.map((v) => sql`${bound(v)}`))})`));
    await sql`${sql.raw(head)}${values}${sql.raw(tail)}`.execute(db);
  }
}
