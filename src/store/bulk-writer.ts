import type SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Capabilities } from './db.js';
import type { DB } from './schema.js';

/**
 * Bulk inserts/upserts for the hot write paths, one code path for callers with a dialect-specific
 * engine underneath:
 * - SQLite: one cached prepared single-row statement run per row. better-sqlite3 runs these
 *   synchronously at a few hundred thousand rows a second, while a multi-row VALUES statement must
 *   be parsed and planned again for every chunk (measured: the planning dominated the first sync).
 *   Only used inside a transaction, where this code holds the connection (Kysely's SQLite driver
 *   serialises access to its one connection per transaction).
 * - PostgreSQL (and SQLite outside a transaction): multi-row INSERT … VALUES, chunked under the
 *   bind-parameter limit, one round trip per chunk.
 */
export interface BulkSpec {
  table: keyof DB;
  columns: readonly string[];
  /** ON CONFLICT target; absent = plain insert. */
  conflict?: {
    target: readonly string[];
    /** Columns set from `excluded`; empty = DO NOTHING. */
    update: readonly string[];
    /** Extra SQL condition for the update (may reference `excluded` and the table by name). */
    where?: string;
  };
}

function quote(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

function conflictClause(spec: BulkSpec): string {
  const c = spec.conflict;
  if (!c) return '';
  const target = `(${c.target.map(quote).join(', ')})`;
  if (c.update.length === 0) return ` on conflict ${target} do nothing`;
  const set = c.update.map((col) => `${quote(col)} = excluded.${quote(col)}`).join(', ');
  return ` on conflict ${target} do update set ${set}${c.where ? ` where ${c.where}` : ''}`;
}

export class BulkWriter {
  private readonly statements = new Map<string, SQLite.Statement>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly caps: Capabilities,
    private readonly sqlite: SQLite.Database | null,
  ) {}

  async write(spec: BulkSpec, rows: ReadonlyArray<readonly unknown[]>): Promise<void> {
    if (rows.length === 0) return;
    const head = `insert into ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) values `;
    const tail = conflictClause(spec);
    if (this.sqlite && this.db.isTransaction) {
      const key = head + tail;
      let stmt = this.statements.get(key);
      if (!stmt) {
        stmt = this.sqlite.prepare(`${head}(${spec.columns.map(() => '?').join(', ')})${tail}`);
        this.statements.set(key, stmt);
      }
      for (const row of rows) stmt.run(...row);
      return;
    }
    const perRow = spec.columns.length;
    const size = Math.max(1, Math.floor(this.caps.maxBindParameters / perRow));
    for (let i = 0; i < rows.length; i += size) {
      const part = rows.slice(i, i + size);
      const values = sql.join(part.map((r) => sql`(${sql.join(r.map((v) => sql`${v}`))})`));
      await sql`${sql.raw(head)}${values}${sql.raw(tail)}`.execute(this.db);
    }
  }
}
