import type { Entity, EntityData } from '../../../model/entities.js';
import type { Contact, Section, Staff, Student } from '../../../model/entities.js';
import { accountFieldsJson } from '../../../model/account-fields.js';
import {
  indexValues,
  linkRows,
  writeLinkLines,
  writeRecordLine,
} from '../../../store/encoding/record-index.js';
import { RowTextWriter } from '../../../store/encoding/row-text.js';
import { canonicalJson, jsonHash } from '../../../model/hash.js';

/**
 * The records of a decoded page, packed for the trip from the decoder worker to the main thread
 * (see page-decoder.ts): the layout (PackedRecords), its constants, and the RecordPacker that
 * builds it record by record.
 */

/**
 * The records of one page, packed: a handful of strings and typed arrays instead of an object per
 * record. Crossing from the worker that is a few copies instead of thousands of small objects, and on
 * the main thread each page's JSON is one large string (kept out of the young generation, so the
 * garbage collector does not copy it around while the page waits to be written; the price is that
 * only a full collection frees it, so peak RSS is somewhat higher). A record's fields are cut out of
 * it with `substring` when the record is read.
 */
export interface PackedRecords {
  count: number;
  /** The item (index into DecodedPage.itemIds) each record was mapped from. */
  item: Int32Array;
  sourceIds: string[];
  /** Content hashes, HASH_LENGTH characters each, concatenated in record order. */
  hashes: string;
  /**
   * Canonical JSON of every record as UTF-8, concatenated; record r's ends at byte `jsonEnd[r]`.
   * Bytes, not a string: written straight from each record's JSON (several times cheaper than
   * joining a page's strings), transferred rather than copied, and decoded on the main thread only
   * for the records that are written (an unchanged record never is).
   */
  json: Uint8Array;
  jsonEnd: Int32Array;
  /**
   * Per record, the hash of its item's bytes (see {@link rawItemHash}), RAW_LENGTH characters each,
   * concatenated in record order; NO_RAW for a record that must not be recognised by its bytes (its
   * item raised a warning or a problem, or the page could not be scanned). Null for entities that
   * are not (see {@link hasRawHash}).
   */
  raws: string | null;
  /**
   * What the scope filters look at, for the entities that have it (else null): students and staff
   * their school ids, sections `[schoolId]`, contacts the student ids of their relationships. The
   * members of all records concatenated in `text` (member m ends at `memberEnd[m]`); record r's
   * members are `memberStart[r]` up to `memberStart[r + 1]`.
   */
  lists: { text: string; memberEnd: Int32Array; memberStart: Int32Array } | null;
  /**
   * What writing a record takes besides its JSON (see store/encoding/record-index.ts), only on pages decoded
   * `forWriting` without `rowText` (else null: a no-change re-sync would pack it for nothing, and
   * a store that loads COPY text takes `rows` instead). Per record its indexed
   * values, then (see {@link packsLinks}) the values of its link rows, as cells: record r's cells are
   * `cellStart[r]` up to `cellStart[r + 1]`; cell c is null when `cellNull[c]` is 1, else its text
   * ends at `cellEnd[c]` in `text` (and starts where the cell before it ended).
   */
  cells: { text: string; cellEnd: Int32Array; cellNull: Uint8Array; cellStart: Int32Array } | null;
  /**
   * Students and staff on pages decoded `forWriting` (else null): each record's account fields as
   * JSON (see model/account-fields.ts), concatenated in `text`; record r's ends at `end[r]`. A first
   * sync derives an account for every one of them, from these ~150 bytes instead of the record's
   * ~750: the main thread parses and collects a fifth of the text.
   */
  account: { text: string; end: Int32Array } | null;
  /**
   * On pages decoded `forWriting` with `rowText` (else null), instead of `cells`: each record's row
   * and link rows as lines of COPY text (see store/encoding/row-text.ts and SourceRecord.rowLines). Record r's
   * row is line r of `bytes`/`ends`; its link rows are lines `linkFirst[r]` up to `linkFirst[r + 1]`
   * of `links`/`linkEnds`. Writing a first sync's rows is then a copy of bytes on the main thread.
   */
  rows: {
    bytes: Uint8Array;
    ends: Int32Array;
    links: Uint8Array;
    linkEnds: Int32Array;
    linkFirst: Int32Array;
  } | null;
}

/**
 * Whether a page of `entity` carries its records' link rows in PackedRecords.cells: contacts only.
 * A section's member lists are most of its JSON, so parsing that on the main thread costs about
 * what packing its ~20 member rows here does, and a re-sync would pay the packing for every
 * unchanged section.
 */
export function packsLinks(entity: Entity): boolean {
  return entity === 'contacts';
}

/** Length of a content hash (SHA-1, base64url): see model/hash.ts. */
export const HASH_LENGTH = 27;

/**
 * The version of what an item's bytes map to, part of every raw item hash: a record is recognised
 * by its item's bytes only if they were hashed under the same version. Change it whenever the same
 * item would map to a different record (the mappers, the canonical form, the grade vocabulary):
 * stored records then stop matching and are mapped again on their next sync. The raw-hash test
 * pins the records of a set of sample items to this version, and fails when they change under it.
 */
export const RAW_VERSION = 'm1.';

/** Length of a raw item hash: see {@link rawItemHash}. */
export const RAW_LENGTH = RAW_VERSION.length + HASH_LENGTH;

/** PackedRecords.raws of a record without one. */
export const NO_RAW = '-'.repeat(RAW_LENGTH);

/**
 * Where a page's JSON bytes are gathered before they are copied out at their exact size. One per
 * PageDecoder, reused by each page it packs (packing is synchronous, so two pages never share it at
 * once). Made on first use; it grows to the largest page seen (4 MB holds a page of 2,000 students).
 */
export interface PackScratch {
  buffer: Buffer | null;
}

/**
 * What the scope filters look at in a record (see PackedRecords.lists): students and staff their
 * school ids, sections `[schoolId]`, contacts the student ids of their relationships.
 */
export function scopeList(entity: Entity, data: EntityData[Entity]): readonly string[] {
  switch (entity) {
    case 'students':
      return (data as Student).schoolIds;
    case 'staff':
      return (data as Staff).schoolIds;
    case 'sections':
      return [(data as Section).schoolId];
    case 'contacts':
      return (data as Contact).relationships.map((r) => r.studentId);
    default:
      return [];
  }
}

/** Builds a page's PackedRecords one record at a time. */
export class RecordPacker {
  private readonly item: number[] = [];
  private readonly sourceIds: string[] = [];
  private readonly hashes: string[] = [];
  private raws = '';
  private readonly jsonEnd: number[] = [];
  private jsonLength = 0;
  private readonly members: string[] = [];
  private readonly memberEnd: number[] = [];
  private readonly memberStart: number[] = [];
  private membersLength = 0;
  private cellText = '';
  private cellEnd = new Int32Array(16_384);
  private cellNull = new Uint8Array(16_384);
  private cells = 0;
  private readonly cellStart: number[] = [];
  private accountText = '';
  private readonly accountEnd: number[] = [];
  private readonly rowText: RowTextWriter | null;
  private readonly linkText: RowTextWriter | null;
  private readonly linkFirst: number[] = [];
  private readonly withCells: boolean;

  constructor(
    private readonly scratch: PackScratch,
    private readonly hasLists: boolean,
    private readonly forWriting: boolean,
    rowText: boolean,
    private readonly withRaws: boolean,
  ) {
    this.withCells = forWriting && !rowText;
    this.rowText = forWriting && rowText ? new RowTextWriter() : null;
    this.linkText = forWriting && rowText ? new RowTextWriter() : null;
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

  /** `raw`: the item's raw hash when the record may be recognised by it (see PackedRecords.raws). */
  add(item: number, entity: Entity, sourceId: string, data: unknown, raw: string | null): void {
    const json = canonicalJson(data);
    if (this.withRaws) this.raws += raw ?? NO_RAW;
    this.item.push(item);
    this.sourceIds.push(sourceId);
    // Room for the worst case: 3 UTF-8 bytes per UTF-16 unit.
    let buf = (this.scratch.buffer ??= Buffer.allocUnsafeSlow(4 << 20));
    if (this.jsonLength + json.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, this.jsonLength + json.length * 3));
      buf.copy(bigger, 0, 0, this.jsonLength);
      this.scratch.buffer = buf = bigger;
    }
    const start = this.jsonLength;
    this.jsonLength += buf.write(json, start, 'utf8');
    this.jsonEnd.push(this.jsonLength);
    // Hashed from the bytes just written: the string would be encoded to UTF-8 a second time.
    const contentHash = jsonHash(buf.subarray(start, this.jsonLength));
    if (contentHash.length !== HASH_LENGTH)
      throw new Error(`content hash of unexpected length ${contentHash.length}`);
    this.hashes.push(contentHash);
    const d = data as EntityData[Entity];
    if (this.withCells) {
      this.cellStart.push(this.cells);
      for (const v of indexValues(entity, d)) this.cell(v);
      if (packsLinks(entity)) for (const row of linkRows(entity, d)) for (const v of row) this.cell(v);
    }
    if (this.rowText && this.linkText) {
      const scope = raw === null ? null : JSON.stringify(scopeList(entity, d));
      writeRecordLine(this.rowText, entity, sourceId, contentHash, json, d, raw, scope);
      this.linkFirst.push(this.linkText.lines);
      writeLinkLines(this.linkText, entity, sourceId, d);
    }
    if (this.forWriting && (entity === 'students' || entity === 'staff')) {
      this.accountText += accountFieldsJson(entity, d as Student | Staff);
      this.accountEnd.push(this.accountText.length);
    }
    if (!this.hasLists) return;
    this.memberStart.push(this.members.length);
    for (const m of scopeList(entity, d)) {
      this.members.push(m);
      this.memberEnd.push((this.membersLength += m.length));
    }
  }

  pack(): PackedRecords {
    const scratch = this.scratch.buffer;
    return {
      count: this.item.length,
      item: new Int32Array(this.item),
      sourceIds: this.sourceIds,
      hashes: this.hashes.join(''),
      raws: this.withRaws ? this.raws : null,
      json: scratch ? Uint8Array.prototype.slice.call(scratch, 0, this.jsonLength) : new Uint8Array(0),
      jsonEnd: new Int32Array(this.jsonEnd),
      lists: this.hasLists
        ? {
            text: this.members.join(''),
            memberEnd: new Int32Array(this.memberEnd),
            memberStart: new Int32Array([...this.memberStart, this.members.length]),
          }
        : null,
      cells: this.withCells
        ? {
            text: this.cellText,
            cellEnd: this.cellEnd.slice(0, this.cells),
            cellNull: this.cellNull.slice(0, this.cells),
            cellStart: new Int32Array([...this.cellStart, this.cells]),
          }
        : null,
      account:
        this.accountEnd.length > 0 ? { text: this.accountText, end: new Int32Array(this.accountEnd) } : null,
      rows: this.rowText && this.linkText ? this.rowsPacked(this.rowText, this.linkText) : null,
    };
  }

  private rowsPacked(rowText: RowTextWriter, linkText: RowTextWriter): NonNullable<PackedRecords['rows']> {
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

/** The typed arrays of a page's records, to transfer rather than copy. */
export function transferables(r: PackedRecords): ArrayBuffer[] {
  const out = [r.item.buffer, r.jsonEnd.buffer, r.json.buffer] as ArrayBuffer[];
  if (r.cells)
    out.push(
      ...([r.cells.cellEnd.buffer, r.cells.cellNull.buffer, r.cells.cellStart.buffer] as ArrayBuffer[]),
    );
  if (r.lists) out.push(r.lists.memberEnd.buffer as ArrayBuffer, r.lists.memberStart.buffer as ArrayBuffer);
  if (r.account) out.push(r.account.end.buffer as ArrayBuffer);
  if (r.rows)
    out.push(
      ...([
        r.rows.bytes.buffer,
        r.rows.ends.buffer,
        r.rows.links.buffer,
        r.rows.linkEnds.buffer,
        r.rows.linkFirst.buffer,
      ] as ArrayBuffer[]),
    );
  return out;
}
