import { createHash } from 'node:crypto';
import type { Entity } from '../../model/entities.js';
import type { Contact, Section, Staff, Student } from '../../model/entities.js';
import { canonicalJson } from '../../model/hash.js';
import type { RunProblem } from '../../model/run.js';
import { isRostersyncError } from '../../shared/errors.js';
import { parseListPage } from './clever-client.js';
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
    hash: createHash('sha1').update(json).digest('base64url'),
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

/** Decodes one page; `path` is only used in messages. */
export function decodePage(bytes: Uint8Array, path: string, what: PageKind): DecodeResult {
  const text = new TextDecoder().decode(bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, retry: true, message: `response body is not valid JSON (${text.length} bytes)` };
  }
  let list;
  try {
    list = parseListPage(body, path);
  } catch (err) {
    if (isRostersyncError(err)) return { ok: false, retry: false, message: err.message };
    throw err;
  }
  const items: DecodedItem[] = [];
  let lastId: string | null = null;
  for (const raw of list.items) {
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
  return { ok: true, page: { items, lastId, next: list.next } };
}
