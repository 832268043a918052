import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyEscape, lineStart, lineValues } from '../encoding/row-text.js';
import type { RowLines } from '../encoding/row-text.js';
import type { Capabilities } from '../db.js';
import type { DB } from '../schema.js';

/**
 * Bulk inserts/upserts for the hot write paths, one code path for callers with a dialect-specific
 * engine underneath:
 * - SQLite: one cached prepared single-row statement run per row. better-sqlite3 runs these
 *   synchronously at a few hundred thousand rows a second, while a multi-row VALUES statement must
 *   be parsed and planned again for every chunk (measured: the planning dominated the first sync).
 *   Only used inside a transaction, where this code holds the connection (Kysely's SQLite driver
 *   serialises access to its one connection per transaction).
 * - PostgreSQL: `INSERT … SELECT * FROM unnest($1::text[], $2::text[], …)`: one array parameter
 *   per column, so a chunk of thousands of rows is a short statement that parses and plans once
 *   (measured: several times faster than multi-row VALUES with tens of thousands of parameters).
 * - SQLite outside a transaction: multi-row INSERT … VALUES, chunked under the parameter limit.
 *
 * Every column written through here is text (or null): ids, hashes, JSON, ISO times.
 */
/**
 * What a bulk write may carry per column. A Uint8Array is text as UTF-8 bytes (never a blob): COPY
 * writes it as it is, every other path binds it decoded.
 */
export type SqlValue = string | number | null | Uint8Array;

/** A value as SQL binds it: bytes decoded to the text they hold. */
function bound(v: SqlValue): string | number | null {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : v;
}

const isBytes = (v: SqlValue): boolean => v instanceof Uint8Array;

/** True when UTF-8 `b` holds a byte COPY text must escape (native scans, as for strings). */
function bytesNeedCopyEscape(b: Buffer): boolean {
  return b.indexOf(0x5c) >= 0 || b.indexOf(0x0a) >= 0 || b.indexOf(0x09) >= 0 || b.indexOf(0x0d) >= 0;
}

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

/** Strings up to this long take the byte-by-byte path of {@link plainAscii}. */
const SHORT_TEXT = 64;

/**
 * Writes `s` into `buf` at `at` when it is ASCII with nothing COPY must escape, and returns its
 * length; returns -1 (having written some of it) otherwise. Most COPY values are short ids, hashes,
 * times and kinds: one loop here measured ~30% cheaper than four indexOf scans and a native write
 * per value, which a 100,000-student sync makes about nine million times.
 */
function plainAscii(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80 || c < 0x20 || c === 0x5c) return -1;
    buf[at + j] = c;
  }
  return n;
}

/** Bytes per piece of COPY input. */
const COPY_PIECE = 1 << 20;

/**
 * COPY input for `rows` as ~1 MB Buffers, each value UTF-8-encoded straight into place (short ASCII
 * values byte by byte, values given as UTF-8 bytes copied as they are). Building
 * strings instead left the copy stream to encode each piece itself, and a piece built by `+=` is a
 * rope of thousands of parts that must be flattened first: measured at 100,000 students, 2.9 s of
 * the main thread's ~21 s, plus the garbage.
 */
function* copyChunks(rows: ReadonlyArray<readonly SqlValue[]>): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(COPY_PIECE);
  let at = 0;
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      const v = r[i]!;
      // One of three forms: bytes copied as they are (a record's JSON from the source, nothing to
      // escape), a short string written byte by byte when it is plain ASCII, or escaped text.
      let bytes: Buffer | null = null;
      let short: string | null = null;
      let text = '';
      if (v instanceof Uint8Array) {
        const b: Buffer = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        if (bytesNeedCopyEscape(b)) text = copyEscape(bound(b));
        else bytes = b;
      } else if (typeof v === 'string' && v.length <= SHORT_TEXT) short = v;
      else text = copyEscape(v);
      // Room for the value (3 bytes per UTF-16 unit at most, escaped or not), a tab and a newline.
      const room = (bytes ? bytes.length : (short ?? text).length * 3) + 2;
      if (at + room > buf.length) {
        if (at > 0) yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(Math.max(COPY_PIECE, room));
        at = 0;
      }
      if (i > 0) buf[at++] = 0x09;
      if (bytes) at += bytes.copy(buf, at);
      else if (short !== null) {
        const n = plainAscii(buf, at, short);
        at += n >= 0 ? n : buf.write(copyEscape(short), at, 'utf8');
      } else at += buf.write(text, at, 'utf8');
    }
    buf[at++] = 0x0a;
  }
  if (at > 0) yield buf.subarray(0, at);
}

/**
 * COPY input for lines of COPY text (see store/encoding/row-text.ts), each after the same leading values:
 * two copies of bytes a line, nothing encoded here.
 */
function* lineChunks(lead: readonly SqlValue[], blocks: readonly RowLines[]): Generator<Buffer> {
  let head = '';
  for (const v of lead) head += `${copyEscape(v instanceof Uint8Array ? bound(v) : v)}\t`;
  const prefix = Buffer.from(head, 'utf8');
  let buf = Buffer.allocUnsafe(COPY_PIECE);
  let at = 0;
  for (const b of blocks) {
    for (let i = b.first; i < b.last; i++) {
      const from = lineStart(b, i);
      const to = b.ends[i]!;
      const room = prefix.length + to - from;
      if (at + room > buf.length) {
        if (at > 0) yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(Math.max(COPY_PIECE, room));
        at = 0;
      }
      buf.set(prefix, at);
      at += prefix.length;
      buf.set(b.bytes.subarray(from, to), at);
      at += to - from;
    }
  }
  if (at > 0) yield buf.subarray(0, at);
}

/** Rows per unnest statement: large enough to amortise the round trip, small enough to stream. */
const ARRAY_CHUNK = 5000;

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
    /** The pg client of the transaction running in this async context (see Database.transactionClient). */
    private readonly transactionClient: () => pg.PoolClient | null,
  ) {}

  /**
   * Inserts rows known to be new (no conflict possible: the caller checked under the district lock).
   * PostgreSQL inside a transaction: COPY FROM STDIN on the transaction's own connection, the
   * fastest way into PostgreSQL. Elsewhere: the same as {@link write}.
   */
  async insertNew(spec: Omit<BulkSpec, 'conflict'>, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
    if (rows.length === 0) return;
    const client = this.caps.copy && this.db.isTransaction ? this.transactionClient() : null;
    if (!client) return this.write(spec, rows);
    const stream = client.query(
      copyFrom(`copy ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) from stdin`),
    );
    await pipeline(Readable.from(copyChunks(rows)), stream);
  }

  /**
   * Inserts rows known to be new, given as lines of COPY text (see store/encoding/row-text.ts) that each
   * follow the same leading values: `spec.columns` names the leading columns, then the lines'. COPY
   * takes the lines as they are; elsewhere (no COPY, or outside a transaction) they are decoded and
   * inserted as values.
   */
  async insertLines(
    spec: Omit<BulkSpec, 'conflict'>,
    lead: readonly SqlValue[],
    blocks: readonly RowLines[],
  ): Promise<void> {
    if (!blocks.some((b) => b.last > b.first)) return;
    const client = this.caps.copy && this.db.isTransaction ? this.transactionClient() : null;
    if (!client) {
      return this.write(
        spec,
        blocks.flatMap((b) => lineValues(b).map((values) => [...lead, ...values])),
      );
    }
    const stream = client.query(
      copyFrom(`copy ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) from stdin`),
    );
    await pipeline(Readable.from(lineChunks(lead, blocks)), stream);
  }

  async write(spec: BulkSpec, rows: ReadonlyArray<readonly SqlValue[]>): Promise<void> {
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
      for (const row of rows) stmt.run(...(row.some(isBytes) ? row.map(bound) : row));
      return;
    }
    if (this.caps.arrayParams) {
      for (let i = 0; i < rows.length; i += ARRAY_CHUNK) {
        const part = rows.slice(i, i + ARRAY_CHUNK);
        const arrays = spec.columns.map((_, c) =>
          part.map((r) => (r[c] === null || r[c] === undefined ? null : String(bound(r[c])))),
        );
        const unnest = sql.join(arrays.map((a) => sql`${a}::text[]`));
        await sql`${sql.raw(`insert into ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) select * from unnest(`)}${unnest}${sql.raw(`)${tail}`)}`.execute(
          this.db,
        );
      }
      return;
    }
    const perRow = spec.columns.length;
    const size = Math.max(1, Math.floor(this.caps.maxBindParameters / perRow));
    for (let i = 0; i < rows.length; i += size) {
      const part = rows.slice(i, i + size);
      const values = sql.join(part.map((r) => sql`(${sql.join(r.map((v) => sql`${bound(v)}`))})`));
      await sql`${sql.raw(head)}${values}${sql.raw(tail)}`.execute(this.db);
    }
  }
}
