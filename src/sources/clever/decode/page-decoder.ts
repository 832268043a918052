import { hash } from 'node:crypto';
import type { Entity, EntityData } from '../../../model/entities.js';
import type { RunProblem } from '../../../model/run.js';
import { decodeListBody } from './clever-list.js';
import { scanListItems } from './item-scan.js';
import type { ScannedList } from './item-scan.js';
import { CleverMapper } from './clever-mapper.js';
import type { MapResult } from './clever-mapper.js';
import { RAW_LENGTH, RAW_VERSION, RecordPacker } from './record-packer.js';
import type { PackedRecords, PackScratch } from './record-packer.js';

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
   * Prepare what writing each record takes (PackedRecords.prepared, and account): set when most
   * records will be written.
   */
  forWriting?: boolean;
  /** With `forWriting`: prepare rows as COPY text (PreparedForm `lines`) instead of values. */
  rowText?: boolean;
};

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
   * When PageDecoder.decode was asked to skip items: whether it did. Skipped items have their id in
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
 * Decodes Clever list pages. Owns the scratch buffer their records are packed in (see PackScratch):
 * one decoder per thread that decodes (the worker's, or a source's when it decodes on the main
 * thread), so the buffer is reused from page to page and never shared between two.
 */
export class PageDecoder {
  private readonly scratch: PackScratch = { buffer: null };

  /**
   * Decodes one page. Messages name no path: the client that fetched it adds the path.
   *
   * `scan` (see scanPage; by default scanned here) gives each record the raw hash of its item. With
   * `skip`, the items marked 1 are left out: the caller found them unchanged by their raw hash. When
   * every item is, the page is not even parsed. When the parse finds other items than the scan did,
   * nothing is skipped and no raw hash is kept (DecodedPage.skipped says which happened).
   */
  decode(
    bytes: Uint8Array,
    what: PageKind,
    scan: PageScan | null = scanPage(bytes, what),
    skip: Uint8Array | null = null,
  ): DecodeResult {
    const items = scan?.list.ids.length ?? -1;
    if (scan && skip && skip.length === items && skip.every((x) => x === 1))
      return this.allSkipped(scan, what);
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
      this.scratch,
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
  private allSkipped(scan: PageScan, what: PageKind): DecodeResult {
    const ids = scan.list.ids;
    let lastId: string | null = null;
    for (let i = ids.length - 1; i >= 0 && lastId === null; i--) lastId = ids[i]!;
    const packer = new RecordPacker(
      this.scratch,
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
}
