import type { Entity, EntityData } from '../../../model/entities.js';
import type { Contact, Section, Staff, Student } from '../../../model/entities.js';
import { accountFieldsJson } from '../../../model/account-fields.js';
import { PreparedRowsWriter, preparedTransferables } from '../../../store/encoding/prepared-row.js';
import type { PreparedRows } from '../../../store/encoding/prepared-row.js';
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
   * What writing each record takes (see store/encoding/prepared-row.ts): over `json`/`jsonEnd`, and
   * on pages decoded `forWriting` also its indexed values and links, or its rows as COPY text when
   * the store loads those (`rowText`). Not on other pages: a no-change re-sync would prepare them
   * for nothing.
   */
  prepared: PreparedRows;
  account: { text: string; end: Int32Array } | null;
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
  private accountText = '';
  private readonly accountEnd: number[] = [];
  private readonly prepared: PreparedRowsWriter;

  constructor(
    private readonly scratch: PackScratch,
    private readonly hasLists: boolean,
    private readonly forWriting: boolean,
    rowText: boolean,
    private readonly withRaws: boolean,
  ) {
    this.prepared = new PreparedRowsWriter(forWriting ? (rowText ? 'lines' : 'values') : null);
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
    // Entities with a raw hash all have a scope list, so a record's scope is one call for both uses.
    const members = this.hasLists ? scopeList(entity, d) : null;
    this.prepared.add(entity, sourceId, contentHash, json, d, raw, members);
    if (this.forWriting && (entity === 'students' || entity === 'staff')) {
      this.accountText += accountFieldsJson(entity, d as Student | Staff);
      this.accountEnd.push(this.accountText.length);
    }
    if (members === null) return;
    this.memberStart.push(this.members.length);
    for (const m of members) {
      this.members.push(m);
      this.memberEnd.push((this.membersLength += m.length));
    }
  }

  pack(): PackedRecords {
    const scratch = this.scratch.buffer;
    const json = scratch ? Uint8Array.prototype.slice.call(scratch, 0, this.jsonLength) : new Uint8Array(0);
    const jsonEnd = new Int32Array(this.jsonEnd);
    return {
      count: this.item.length,
      item: new Int32Array(this.item),
      sourceIds: this.sourceIds,
      hashes: this.hashes.join(''),
      raws: this.withRaws ? this.raws : null,
      json,
      jsonEnd,
      lists: this.hasLists
        ? {
            text: this.members.join(''),
            memberEnd: new Int32Array(this.memberEnd),
            memberStart: new Int32Array([...this.memberStart, this.members.length]),
          }
        : null,
      account:
        this.accountEnd.length > 0 ? { text: this.accountText, end: new Int32Array(this.accountEnd) } : null,
      prepared: this.prepared.finish(json, jsonEnd),
    };
  }
}

/** The typed arrays of a page's records, to transfer rather than copy. */
export function transferables(r: PackedRecords): ArrayBuffer[] {
  const out = [r.item.buffer, r.jsonEnd.buffer, r.json.buffer] as ArrayBuffer[];
  if (r.lists) out.push(r.lists.memberEnd.buffer as ArrayBuffer, r.lists.memberStart.buffer as ArrayBuffer);
  if (r.account) out.push(r.account.end.buffer as ArrayBuffer);
  // The prepared rows' JSON is `r.json`, listed above.
  out.push(...preparedTransferables(r.prepared));
  return out;
}
