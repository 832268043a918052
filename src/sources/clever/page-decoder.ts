import type { Entity } from '../../model/entities.js';
import type { Contact, Section, Staff, Student } from '../../model/entities.js';
import { canonicalJson, jsonHash } from '../../model/hash.js';
import type { RunProblem } from '../../model/run.js';
import { decodeListBody } from './clever-client.js';
import { mapCourse, mapSchool, mapSection, mapTerm, mapUser } from './clever-mapper.js';

/**
 * Turns the bytes of one Clever list page into canonical records: JSON parsing, the envelope check,
 * mapping, and each record's canonical JSON and content hash. This is most of the CPU a sync spends
 * per record, and none of it needs the store, so a CleverSource runs it in a worker thread (see
 * page-worker.ts) while the main thread reconciles and writes. Only strings cross back: the sync
 * parses a record's JSON on the main thread when it needs the record's fields (to write it or
 * derive its account), and compares hashes without parsing anything.
 */

/** What a page is a page of. */
export type PageKind =
  | { kind: 'simple'; entity: 'schools' | 'terms' | 'courses' | 'sections' }
  | { kind: 'users'; entity: 'students' | 'staff' | 'contacts' };

/** One record as decoded: its canonical JSON and hash, and what the scope filter needs of it. */
export interface DecodedRecord {
  entity: Entity;
  sourceId: string;
  json: string;
  hash: string;
  /** Students, staff: the record's schools. Sections: its school. */
  schoolIds?: string[];
  /** Contacts: the students of its relationships. */
  studentIds?: string[];
}

/** One item of the page as the mapper saw it (one Clever object). */
export interface DecodedItem {
  /** The item's id, or null when it has none. */
  id: string | null;
  /** Records of the page's entity mapped from it (users may map to other entities; those are dropped). */
  records: DecodedRecord[];
  warnings: RunProblem[];
  /** Set when the item could not be mapped. */
  problem: RunProblem | null;
}

export interface DecodedPage {
  items: DecodedItem[];
  /** The last item id of the page (the cursor of an ordered stream). */
  lastId: string | null;
  next: string | null;
}

/** A page for the worker (see page-worker.ts) to decode; the bytes are transferred. */
export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  what: PageKind;
}

export type DecodeReply = { id: number; result: DecodeResult } | { id: number; crash: string };

export type DecodeResult =
  | { ok: true; page: DecodedPage }
  /** `retry`: the body is not JSON (cut off in transit); otherwise the envelope is wrong. */
  | { ok: false; retry: boolean; message: string };

function decodedRecord(entity: Entity, sourceId: string, data: unknown): DecodedRecord {
  const json = canonicalJson(data);
  const out: DecodedRecord = {
    entity,
    sourceId,
    json,
    hash: jsonHash(json),
  };
  if (entity === 'students') out.schoolIds = (data as Student).schoolIds;
  else if (entity === 'staff') out.schoolIds = (data as Staff).schoolIds;
  else if (entity === 'sections') out.schoolIds = [(data as Section).schoolId];
  else if (entity === 'contacts') out.studentIds = (data as Contact).relationships.map((r) => r.studentId);
  return out;
}

const SIMPLE_MAPPERS = {
  schools: mapSchool,
  terms: mapTerm,
  courses: mapCourse,
  sections: mapSection,
} as const;

/** Decodes one page. Messages name no path: the client that fetched it adds the path. */
export function decodePage(bytes: Uint8Array, what: PageKind): DecodeResult {
  const list = decodeListBody(bytes);
  if (!list.ok) return list;
  const items: DecodedItem[] = [];
  let lastId: string | null = null;
  for (const raw of list.value.items) {
    if (typeof raw.id === 'string') lastId = raw.id;
    if (what.kind === 'simple') {
      const r = SIMPLE_MAPPERS[what.entity](raw);
      items.push(
        r.ok
          ? {
              id: r.id!,
              records: [decodedRecord(what.entity, r.id!, r.data)],
              warnings: r.warnings,
              problem: null,
            }
          : { id: r.problem.recordId, records: [], warnings: [], problem: r.problem },
      );
      continue;
    }
    const r = mapUser(raw);
    items.push({
      id: r.id,
      records: r.records
        .filter((rec) => rec.entity === what.entity)
        .map((rec) => decodedRecord(rec.entity, rec.id, rec.data)),
      warnings: r.warnings,
      problem: r.problem ?? null,
    });
  }
  return { ok: true, page: { items, lastId, next: list.value.next } };
}
