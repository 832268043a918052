import { hash } from 'node:crypto';
import type { Entity, EntityData } from '../../../model/entities.js';
import type { Contact, Section, Staff, Student } from '../../../model/entities.js';
import { accountFieldsJson } from '../../../model/account-fields.js';
import { indexValues, linkRows, writeLinkLines, writeRecordLine } from '../../../model/record-index.js';
import { RowTextWriter } from '../../../model/row-text.js';
import { canonicalJson, jsonHash } from '../../../model/hash.js';
import type { RunProblem } from '../../../model/run.js';
import { decodeListBody } from './clever-list.js';
import { scanListItems } from './item-scan.js';
import type { ScannedList } from './item-scan.js';
import { CleverMapper } from './clever-mapper.js';
import type { MapResult } from './clever-mapper.js';

/**
 * Turns the bytes of one Clever list page into canonical records: JSON parsing, the envelope check,
 * mapping, and each record's canonical JSON and content hash. This is most of the CPU a sync spends
 * per record, and none of it needs the store, so a CleverSource runs it in a worker thread (see
 * page-worker.ts) while the main thread reconciles and writes. Only strings cross back, packed (see
 * PackedRecords), with what writing a record takes (its JSON as bytes, its indexed values and link
 * rows): the sync compares hashes and writes records without parsing anything, and parses a
 * record's JSON on the main thread only for the fields an account is derived from.
 */

/** What a page is a page of. */
export type PageKind = (
  | { kind: 'simple'; entity: 'schools' | 'terms' | 'courses' | 'sections' }
  | { kind: 'users'; entity: 'students' | 'staff' | 'contacts' }
) & {
  /**
   * Pack what writing each record takes (PackedRecords.cells or rows, and account): set when most
   * records will be written.
   */
  forWriting?: boolean;
  /** With `forWriting`: pack it as COPY text (PackedRecords.rows) instead of cells. */
  rowText?: boolean;
};

/**
 * The records of one page, packed: a handful of strings and typed arrays instead of an object per
 * record. Crossing from the worker that is a few copies instead of thousands of small objects, and on
 * the main thread each page's JSON is one large string (kept out of the young generation, so the
 * garbage collector does not copy it around while the page waits to be written; the price is that
 * only a full collection frees it, ~30 MB more peak RSS at 200k students). A record's fields are cut
 * out of it with `substring` when the record is read.
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
   * Bytes, not a string: written straight from each record's JSON (joining 2,000 strings measured
   * ~10 ms a page, writing them ~1.5 ms), transferred rather than copied, and decoded on the main
   * thread only for the records that are written (an unchanged record never is).
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
   * What writing a record takes besides its JSON (see model/record-index.ts), only on pages decoded
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
   * ~750 (measured at 100,000 students: ~1 s less CPU in the sync process, most of it the main
   * thread's parsing and garbage collection).
   */
  account: { text: string; end: Int32Array } | null;
  /**
   * On pages decoded `forWriting` with `rowText` (else null), instead of `cells`: each record's row
   * and link rows as lines of COPY text (see model/row-text.ts and SourceRecord.rowLines). Record r's
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
 * The raw hash of the item at `start`..`end` of a page: SHA-1 of its bytes (the whole item as Clever
 * sent it), behind RAW_VERSION. Equal raw hashes mean the same bytes under the same mapping, so the
 * same record: a re-sync that finds an item's raw hash stored with its record skips decoding it.
 */
export function rawItemHash(bytes: Uint8Array, start: number, end: number): string {
  return RAW_VERSION + hash('sha1', bytes.subarray(start, end), 'base64url');
}

/**
 * The entities whose records keep the raw hash of their item: users and sections, nearly all of a
 * district's records. Schools are read on every sync to build the school filter, and terms and
 * courses are few.
 */
export function hasRawHash(entity: Entity): boolean {
  return entity === 'students' || entity === 'staff' || entity === 'contacts' || entity === 'sections';
}

/** A page's items, scanned (see item-scan.ts), with their raw hashes, RAW_LENGTH characters each. */
export interface PageScan {
  list: ScannedList;
  raws: string;
}

/** Scans a page of an entity with raw hashes; null for other entities and bodies the scan refuses. */
export function scanPage(bytes: Uint8Array, what: PageKind): PageScan | null {
  if (!hasRawHash(what.entity)) return null;
  const list = scanListItems(bytes);
  if (!list) return null;
  let raws = '';
  for (let i = 0; i < list.ids.length; i++) raws += rawItemHash(bytes, list.start[i]!, list.end[i]!);
  return { list, raws };
}

/** Problems of one item of the page (most items have none). */
export interface ItemNotes {
  item: number;
  warnings: RunProblem[];
  /** Set when the item could not be mapped. */
  problem: RunProblem | null;
}

export interface DecodedPage {
  /** Per item (one Clever object) of the page, in order: its id, or null when it has none. */
  itemIds: Array<string | null>;
  /** The items with warnings or a problem. */
  notes: ItemNotes[];
  /** Records of the page's entity mapped from the items (users may map to other entities; those are dropped). */
  records: PackedRecords;
  /** The last item id of the page (the cursor of an ordered stream). */
  lastId: string | null;
  next: string | null;
  /**
   * When decodePage was asked to skip items: whether it did. Skipped items have their id in
   * `itemIds` and nothing else (no notes, no records). False when the scan and the parse disagree
   * on the page's items: then every item was decoded.
   */
  skipped?: boolean;
}

/**
 * What the worker (see page-worker.ts) is asked. `decode`: a page, in one step; its bytes are
 * transferred. `scan`: the first of two steps, the page's items and their raw hashes (see
 * scanPage); the worker keeps the bytes for the second, `finish`: the page decoded without the items
 * marked in `skip` (1: skip). `drop`: forget a scanned page that will not be finished.
 */
export type DecodeRequest =
  | { type: 'decode'; id: number; bytes: Uint8Array; what: PageKind }
  | { type: 'scan'; id: number; bytes: Uint8Array; what: PageKind }
  | { type: 'finish'; id: number; skip: Uint8Array | null }
  | { type: 'drop'; id: number };

export type DecodeReply =
  | { id: number; result: DecodeResult }
  | { id: number; scan: { ids: Array<string | null>; raws: string } | null }
  | { id: number; crash: string };

export type DecodeResult =
  | { ok: true; page: DecodedPage }
  /** `retry`: the body is not JSON (cut off in transit); otherwise the envelope is wrong. */
  | { ok: false; retry: boolean; message: string };

/**
 * Where a page's JSON bytes are gathered before they are copied out at their exact size. Shared:
 * pages are packed one at a time (decodePage is synchronous). Made on first use; it grows to the
 * largest page seen (4 MB holds a page of 2,000 students).
 */
let scratch: Buffer | null = null;

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
class RecordPacker {
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
    let buf = (scratch ??= Buffer.allocUnsafeSlow(4 << 20));
    if (this.jsonLength + json.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, this.jsonLength + json.length * 3));
      buf.copy(bigger, 0, 0, this.jsonLength);
      scratch = buf = bigger;
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

/** The typed arrays of a page, to transfer rather than copy. */
export function transferables(page: DecodedPage): ArrayBuffer[] {
  const r = page.records;
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

/** True when a string anywhere in `v` (keys included) holds U+0000. */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(holdsNul);
  for (const k in v) if (k.includes('\u0000') || holdsNul((v as Record<string, unknown>)[k])) return true;
  return false;
}

/** Maps an item of a page of one of the entities that are not users. */
function mapSimple(
  mapper: CleverMapper,
  entity: 'schools' | 'terms' | 'courses' | 'sections',
  raw: Record<string, unknown>,
): MapResult<EntityData[typeof entity]> & { id?: string } {
  switch (entity) {
    case 'schools':
      return mapper.mapSchool(raw);
    case 'terms':
      return mapper.mapTerm(raw);
    case 'courses':
      return mapper.mapCourse(raw);
    case 'sections':
      return mapper.mapSection(raw);
  }
}

/**
 * Decodes one page. Messages name no path: the client that fetched it adds the path.
 *
 * `scan` (see scanPage; by default scanned here) gives each record the raw hash of its item. With
 * `skip`, the items marked 1 are left out: the caller found them unchanged by their raw hash. When
 * every item is, the page is not even parsed. When the parse finds other items than the scan did,
 * nothing is skipped and no raw hash is kept (DecodedPage.skipped says which happened).
 */
export function decodePage(
  bytes: Uint8Array,
  what: PageKind,
  scan: PageScan | null = scanPage(bytes, what),
  skip: Uint8Array | null = null,
): DecodeResult {
  const items = scan?.list.ids.length ?? -1;
  if (scan && skip && skip.length === items && skip.every((x) => x === 1)) return allSkipped(scan, what);
  // Strings are decoded as the mappers use them, not all of them up front (see CleverListPage.latin1).
  const list = decodeListBody(bytes, { deferText: true });
  if (!list.ok) return list;
  const itemIds: Array<string | null> = [];
  const notes: ItemNotes[] = [];
  // The scan and the parse must agree on the items for a raw hash to be kept or an item skipped.
  const agreed = scan !== null && list.value.items.length === items;
  const raws = agreed ? scan.raws : null;
  const skipping = agreed && skip !== null && skip.length === items ? skip : null;
  const packer = new RecordPacker(
    what.entity !== 'schools' && what.entity !== 'terms' && what.entity !== 'courses',
    what.forWriting === true,
    what.rowText === true,
    hasRawHash(what.entity),
  );
  const rawOf = (item: number): string | null =>
    raws === null ? null : raws.substring(item * RAW_LENGTH, (item + 1) * RAW_LENGTH);
  let lastId: string | null = null;
  // The mappers drop U+0000 from every string (see clever-mapper.ts withoutNul); a page that may
  // hold one (escaped: JSON cannot carry it raw) has its items checked, to report each record that
  // had some.
  const mayHoldNul = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('\\u0000');
  const nulWarning = (raw: Record<string, unknown>, id: string | null): RunProblem[] =>
    mayHoldNul && holdsNul(raw)
      ? [
          {
            severity: 'warning',
            entity: what.entity,
            recordId: id,
            field: null,
            reason: 'contained NUL characters (U+0000); they were removed',
          },
        ]
      : [];
  // Strings are decoded as the mapper uses them (see CleverListPage.latin1).
  const mapper = new CleverMapper(list.value.latin1 === true);
  for (const raw of list.value.items) {
    if (typeof raw.id === 'string') lastId = mapper.text(raw.id);
    const item = itemIds.length;
    if (skipping?.[item] === 1) {
      itemIds.push(scan!.list.ids[item]!);
      continue;
    }
    if (what.kind === 'simple') {
      const r = mapSimple(mapper, what.entity, raw);
      if (r.ok) {
        itemIds.push(r.id!);
        const warnings = [...r.warnings, ...nulWarning(raw, r.id!)];
        packer.add(item, what.entity, r.id!, r.data, warnings.length === 0 ? rawOf(item) : null);
        if (warnings.length > 0) notes.push({ item, warnings, problem: null });
      } else {
        itemIds.push(r.problem.recordId);
        notes.push({ item, warnings: [], problem: r.problem });
      }
      continue;
    }
    const r = mapper.mapUser(raw);
    itemIds.push(r.id);
    const warnings = r.problem ? r.warnings : [...r.warnings, ...nulWarning(raw, r.id)];
    const clean = warnings.length === 0 && !r.problem;
    for (const rec of r.records)
      if (rec.entity === what.entity)
        packer.add(item, rec.entity, rec.id, rec.data, clean ? rawOf(item) : null);
    if (!clean) notes.push({ item, warnings, problem: r.problem ?? null });
  }
  return {
    ok: true,
    page: {
      itemIds,
      notes,
      records: packer.pack(),
      lastId,
      next: list.value.next,
      ...(skip ? { skipped: skipping !== null } : {}),
    },
  };
}

/** A page all of whose items are skipped: what the scan found, and no records. */
function allSkipped(scan: PageScan, what: PageKind): DecodeResult {
  const ids = scan.list.ids;
  let lastId: string | null = null;
  for (let i = ids.length - 1; i >= 0 && lastId === null; i--) lastId = ids[i]!;
  const packer = new RecordPacker(
    what.entity !== 'schools' && what.entity !== 'terms' && what.entity !== 'courses',
    false,
    false,
    hasRawHash(what.entity),
  );
  return {
    ok: true,
    page: { itemIds: ids, notes: [], records: packer.pack(), lastId, next: scan.list.next, skipped: true },
  };
}
