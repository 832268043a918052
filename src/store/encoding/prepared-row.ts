import type { Entity, EntityData } from '../../model/entities.js';
import {
  INDEX_COLUMNS,
  indexValues,
  LINK_WIDTH,
  linkRows,
  writeLinkLines,
  writeRecordLine,
} from './record-index.js';
import { RowTextWriter } from './row-text.js';
import type { RowLines } from './row-text.js';

/**
 * Rows prepared for writing by a source that decodes pages ahead (see
 * sources/clever/decode/record-packer.ts), in the form the store asked for (PageOptions.rowText,
 * from Store.loadsRowText): the store defines the form here, the source only calls the builder while
 * it holds a record's fields, and the store alone reads what was built. Pure code with type-only
 * model imports: the decoder worker loads this file.
 *
 * A page's rows are one PreparedRows (a few typed arrays and strings, transferred between threads
 * rather than copied); a record's is a PreparedRow, its page's rows and its index in them.
 */

/**
 * Which form a page's rows are prepared in: `lines`, the record's row and link rows as lines of COPY
 * text (the store loads them as they are: PostgreSQL COPY); `values`, the record's indexed values
 * and, where it pays (see {@link preparesLinks}), its link rows (a store that binds values).
 */
export type PreparedForm = 'lines' | 'values';

/** A page's prepared rows. Every field is a string or a typed array: structured-clone friendly. */
export interface PreparedRows {
  /**
   * The canonical JSON of every record as UTF-8, concatenated (the page's own bytes, shared with
   * the source); record r's ends at byte `jsonEnd[r]`. Present in every form, and without one: a
   * store that copies bytes copies these as they are.
   */
  json: Uint8Array;
  jsonEnd: Int32Array;
  /**
   * Form `values`: per record its indexed values, then (see {@link preparesLinks}) the values of its
   * link rows, as cells: record r's cells are `cellStart[r]` up to `cellStart[r + 1]`; cell c is
   * null when `cellNull[c]` is 1, else its text ends at `cellEnd[c]` in `text` (and starts where the
   * cell before it ended).
   */
  values: { text: string; cellEnd: Int32Array; cellNull: Uint8Array; cellStart: Int32Array } | null;
  /**
   * Form `lines`: record r's row is line r of `bytes`/`ends` (see record-index.ts writeRecordLine);
   * its link rows are lines `linkFirst[r]` up to `linkFirst[r + 1]` of `links`/`linkEnds`.
   */
  lines: {
    bytes: Uint8Array;
    ends: Int32Array;
    links: Uint8Array;
    linkEnds: Int32Array;
    linkFirst: Int32Array;
  } | null;
}

/**
 * One record's prepared row: opaque outside the store, which reads it through the functions below.
 * Two references, no copy of anything.
 */
export interface PreparedRow {
  readonly rows: PreparedRows;
  readonly index: number;
}

/**
 * What a stored row remembers of the item it was mapped from (see migrations/0005-raw-item-hash.ts):
 * the item's raw hash and the record's filter scope as JSON. Kept apart from PreparedRow: it is not
 * how to write a row but what the row keeps, and the sync needs it where no row is written (an
 * unchanged record whose raw hash is refreshed, a record the source did not decode), while a record
 * the sync re-normalises (trimmed by a filter) must lose both, the fingerprint for a changed scope.
 */
export interface RawFingerprint {
  readonly raw: string;
  readonly scope: string;
}

/**
 * Whether rows in form `values` carry their link rows: contacts only. A section's member lists are
 * most of its JSON, so parsing that on the main thread costs about what packing its ~20 member rows
 * ahead does, and a re-sync would pay the packing for every unchanged section.
 */
export function preparesLinks(entity: Entity): boolean {
  return entity === 'contacts';
}

/** Builds a page's PreparedRows one record at a time, in the form asked for (null: JSON only). */
export class PreparedRowsWriter {
  private cellText = '';
  private cellEnd: Int32Array;
  private cellNull: Uint8Array;
  private cells = 0;
  private readonly cellStart: number[] = [];
  private readonly rowText: RowTextWriter | null;
  private readonly linkText: RowTextWriter | null;
  private readonly linkFirst: number[] = [];

  constructor(private readonly form: PreparedForm | null) {
    const values = form === 'values';
    this.cellEnd = new Int32Array(values ? 16_384 : 0);
    this.cellNull = new Uint8Array(values ? 16_384 : 0);
    this.rowText = form === 'lines' ? new RowTextWriter() : null;
    this.linkText = form === 'lines' ? new RowTextWriter() : null;
  }

  private cell(v: string | null): void {
    if (this.cells === this.cellEnd.length) {
      const end = new Int32Array(this.cells * 2);
      end.set(this.cellEnd);
      this.cellEnd = end;
      const nul = new Uint8Array(this.cells * 2);
      nul.set(this.cellNull);
      this.cellNull = nul;
    }
    if (v === null) this.cellNull[this.cells] = 1;
    else this.cellText += v;
    this.cellEnd[this.cells++] = this.cellText.length;
  }

  /**
   * Adds the next record: its id, content hash, canonical JSON and data, and its fingerprint's parts
   * (`raw` null: none; `scope` the filter scope's members, stringified only where the form keeps it).
   */
  add(
    entity: Entity,
    sourceId: string,
    hash: string,
    json: string,
    data: EntityData[Entity],
    raw: string | null,
    scope: readonly string[] | null,
  ): void {
    if (this.form === 'values') {
      this.cellStart.push(this.cells);
      for (const v of indexValues(entity, data)) this.cell(v);
      if (preparesLinks(entity)) for (const row of linkRows(entity, data)) for (const v of row) this.cell(v);
    } else if (this.rowText && this.linkText) {
      const scopeJson = raw === null ? null : JSON.stringify(scope ?? []);
      writeRecordLine(this.rowText, entity, sourceId, hash, json, data, raw, scopeJson);
      this.linkFirst.push(this.linkText.lines);
      writeLinkLines(this.linkText, entity, sourceId, data);
    }
  }

  /** The page's rows, over its records' JSON bytes (`json`, ending at `jsonEnd`). */
  finish(json: Uint8Array, jsonEnd: Int32Array): PreparedRows {
    return {
      json,
      jsonEnd,
      values:
        this.form === 'values'
          ? {
              text: this.cellText,
              cellEnd: this.cellEnd.slice(0, this.cells),
              cellNull: this.cellNull.slice(0, this.cells),
              cellStart: new Int32Array([...this.cellStart, this.cells]),
            }
          : null,
      lines: this.rowText && this.linkText ? this.linesOf(this.rowText, this.linkText) : null,
    };
  }

  private linesOf(rowText: RowTextWriter, linkText: RowTextWriter): NonNullable<PreparedRows['lines']> {
    const rows = rowText.finish();
    const links = linkText.finish();
    return {
      bytes: rows.bytes,
      ends: rows.ends,
      links: links.bytes,
      linkEnds: links.ends,
      linkFirst: new Int32Array([...this.linkFirst, links.ends.length]),
    };
  }
}

/**
 * The buffers of `rows` to transfer rather than copy, but for its JSON's (see PreparedRows.json):
 * those are the page's, which its source transfers itself (a buffer listed twice cannot be sent).
 */
export function preparedTransferables(rows: PreparedRows): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const v = rows.values;
  if (v) out.push(...([v.cellEnd.buffer, v.cellNull.buffer, v.cellStart.buffer] as ArrayBuffer[]));
  const l = rows.lines;
  if (l)
    out.push(
      ...([
        l.bytes.buffer,
        l.ends.buffer,
        l.links.buffer,
        l.linkEnds.buffer,
        l.linkFirst.buffer,
      ] as ArrayBuffer[]),
    );
  return out;
}

/** The record's canonical JSON as UTF-8: a Buffer view of its page's bytes, no copy. */
export function preparedJson(p: PreparedRow): Buffer {
  const { json, jsonEnd } = p.rows;
  const start = p.index === 0 ? 0 : jsonEnd[p.index - 1]!;
  return Buffer.from(json.buffer, json.byteOffset + start, jsonEnd[p.index]! - start);
}

/** True when the record's rows were prepared as lines of COPY text. */
export function hasLines(p: PreparedRow): boolean {
  return p.rows.lines !== null;
}

/** The record's indexed values (see record-index.ts INDEX_COLUMNS), when prepared as values. */
export function preparedIndexValues(p: PreparedRow, entity: Entity): Array<string | null> | undefined {
  if (!p.rows.values) return undefined;
  const first = p.rows.values.cellStart[p.index]!;
  return cellsOf(p.rows.values, first, first + INDEX_COLUMNS[entity].length);
}

/** The record's link rows (see record-index.ts linkRows), when prepared as values with them. */
export function preparedLinks(p: PreparedRow, entity: Entity): Array<Array<string | null>> | undefined {
  const v = p.rows.values;
  if (!v || !preparesLinks(entity)) return undefined;
  const width = LINK_WIDTH[entity]!;
  const out: Array<Array<string | null>> = [];
  const end = v.cellStart[p.index + 1]!;
  for (let c = v.cellStart[p.index]! + INDEX_COLUMNS[entity].length; c < end; c += width)
    out.push(cellsOf(v, c, c + width));
  return out;
}

/** Cells `from` up to `to` of a page's values. */
function cellsOf(v: NonNullable<PreparedRows['values']>, from: number, to: number): Array<string | null> {
  const { text, cellEnd, cellNull } = v;
  const out: Array<string | null> = [];
  for (let c = from; c < to; c++)
    out.push(cellNull[c] === 1 ? null : text.substring(c === 0 ? 0 : cellEnd[c - 1]!, cellEnd[c]));
  return out;
}

/**
 * The row lines of records prepared as lines (see {@link hasLines}), in order: one block per run of
 * records that are consecutive in one page.
 */
export function preparedRowLines(rows: readonly PreparedRow[]): RowLines[] {
  return runs(rows, (p) => {
    const l = p.rows.lines!;
    return { bytes: l.bytes, ends: l.ends, first: p.index, last: p.index + 1 };
  });
}

/** The link lines of records prepared as lines (see {@link hasLines}), in order, in blocks as above. */
export function preparedLinkLines(rows: readonly PreparedRow[]): RowLines[] {
  return runs(rows, (p) => {
    const l = p.rows.lines!;
    return {
      bytes: l.links,
      ends: l.linkEnds,
      first: l.linkFirst[p.index]!,
      last: l.linkFirst[p.index + 1]!,
    };
  });
}

/** Blocks of lines, each record's merged into the block before when it follows it in its page. */
function runs(rows: readonly PreparedRow[], block: (p: PreparedRow) => RowLines): RowLines[] {
  const out: RowLines[] = [];
  let prev: PreparedRow | null = null;
  for (const p of rows) {
    const b = block(p);
    const last = out[out.length - 1];
    if (last && prev && prev.rows === p.rows && prev.index + 1 === p.index && last.last === b.first)
      last.last = b.last;
    else out.push(b);
    prev = p;
  }
  return out;
}
