import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { accountFieldsJson } from '../../src/model/account-fields.js';
import type { AccountEntity, AccountFieldsOf } from '../../src/model/account-fields.js';
import type { Entity, EntityData } from '../../src/model/entities.js';
import { canonicalJson, contentHash } from '../../src/model/hash.js';
import { indexValues, linkRows } from '../../src/store/encoding/record-index.js';
import { lineValues } from '../../src/store/encoding/row-text.js';
import type { RunProblem } from '../../src/model/run.js';
import { CleverMapper } from '../../src/sources/clever/decode/clever-mapper.js';
import { hasRawHash } from '../../src/sources/clever/decode/page-decoder.js';
import type { DecodedPage, PageKind } from '../../src/sources/clever/decode/page-decoder.js';
import { HASH_LENGTH, RAW_VERSION } from '../../src/sources/clever/decode/record-packer.js';
import type { GeneratedPage } from './clever-pages.js';

/**
 * A decoded Clever page as a PageView, which does not depend on how the decoder packs it, two ways:
 * the decoder's output unpacked ({@link decodedView}), and the plain reference path
 * ({@link referenceView}): JSON.parse of the page as UTF-8 text, the plain mapper, and each
 * record's canonical JSON, hash and write values computed from its data.
 */

/** A page's outcome, in a form that does not depend on how the decoder packs it. */
export interface PageView {
  itemIds: Array<string | null>;
  notes: Array<{ item: number; warnings: RunProblem[]; problem: RunProblem | null }>;
  records: RecordView[];
  lastId: string | null;
  next: string | null;
}

export interface RecordView {
  item: number;
  sourceId: string;
  json: string;
  hash: string;
  /** The raw hash of its item, or null when it must not be recognised by it (or has none). */
  raw: string | null;
  members: string[] | null;
  account: unknown;
  cells: Array<string | null> | null;
  row: Array<string | null> | null;
  links: Array<Array<string | null>> | null;
}

const NUL_WARNING = 'contained NUL characters (U+0000); they were removed';
const mapper = new CleverMapper();

/** The reference: the page parsed as UTF-8 text, each item mapped plainly, each record's values. */
export function referenceView(gen: GeneratedPage, what: PageKind): PageView {
  const bytes = gen.bytes;
  const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
    data: Array<{ data: Record<string, unknown> }>;
    links: Array<{ rel: string; uri: string }>;
  };
  const forWriting = what.forWriting === true;
  const rowText = forWriting && what.rowText === true;
  const view: PageView = { itemIds: [], notes: [], records: [], lastId: null, next: null };
  for (const l of body.links) if (l.rel === 'next') view.next = l.uri;
  body.data.forEach(({ data: raw }, item) => {
    if (typeof raw.id === 'string') view.lastId = raw.id.replaceAll('\u0000', '');
    // JSON.stringify writes U+0000, in keys and values, as this escape.
    const nul: RunProblem[] = JSON.stringify(raw).includes('\\u0000')
      ? [{ severity: 'warning', entity: what.entity, recordId: null, field: null, reason: NUL_WARNING }]
      : [];
    let mapped: Array<{ id: string; data: EntityData[Entity] }> = [];
    let warnings: RunProblem[] = [];
    let problem: RunProblem | null = null;
    if (what.kind === 'simple') {
      const r =
        what.entity === 'schools'
          ? mapper.mapSchool(raw)
          : what.entity === 'terms'
            ? mapper.mapTerm(raw)
            : what.entity === 'courses'
              ? mapper.mapCourse(raw)
              : mapper.mapSection(raw);
      if (r.ok) {
        view.itemIds.push(r.id!);
        warnings = [...r.warnings, ...nul.map((w) => ({ ...w, recordId: r.id! }))];
        mapped = [{ id: r.id!, data: r.data }];
      } else {
        view.itemIds.push(r.problem.recordId);
        problem = r.problem;
      }
    } else {
      const r = mapper.mapUser(raw);
      view.itemIds.push(r.id);
      problem = r.problem ?? null;
      warnings = problem ? r.warnings : [...r.warnings, ...nul.map((w) => ({ ...w, recordId: r.id }))];
      mapped = r.records.filter((rec) => rec.entity === what.entity);
    }
    if (warnings.length > 0 || problem) view.notes.push({ item, warnings, problem });
    const clean = warnings.length === 0 && problem === null;
    const span = gen.spans[item]!;
    const raw0 =
      RAW_VERSION + createHash('sha1').update(bytes.subarray(span[0], span[1])).digest('base64url');
    for (const { id, data } of mapped) {
      const raw = clean && hasRawHash(what.entity) ? raw0 : null;
      const members = scope(what.entity, data);
      const json = canonicalJson(data);
      const hash = contentHash(data);
      const values = indexValues(what.entity, data);
      view.records.push({
        item,
        sourceId: id,
        json,
        hash,
        raw,
        members,
        account:
          forWriting && (what.entity === 'students' || what.entity === 'staff')
            ? JSON.parse(accountFieldsJson(what.entity, data as AccountFieldsOf[AccountEntity]))
            : null,
        cells:
          forWriting && !rowText
            ? [...values, ...(what.entity === 'contacts' ? linkRows(what.entity, data).flat() : [])]
            : null,
        row: rowText ? [id, hash, json, raw, raw === null ? null : JSON.stringify(members), ...values] : null,
        links: rowText ? linkRows(what.entity, data).map((l) => [id, ...l]) : null,
      });
    }
  });
  return view;
}

/** What the scope filters look at (null for entities without one). */
function scope(entity: Entity, data: EntityData[Entity]): string[] | null {
  switch (entity) {
    case 'students':
    case 'staff':
      return [...(data as EntityData['students']).schoolIds];
    case 'sections':
      return [(data as EntityData['sections']).schoolId];
    case 'contacts':
      return (data as EntityData['contacts']).relationships.map((r) => r.studentId);
    default:
      return null;
  }
}

/** The decoder's page, unpacked into a PageView. */
export function decodedView(p: DecodedPage, what: PageKind): PageView {
  const r = p.records;
  const json = Buffer.from(r.json.buffer, r.json.byteOffset, r.json.byteLength);
  // The bytes are the page's own, sized exactly, so they can be transferred to another thread.
  expect(r.json.buffer.byteLength).toBe(r.json.byteLength);
  const rawLength = RAW_VERSION.length + HASH_LENGTH;
  const lines = r.prepared.lines;
  const records: RecordView[] = [];
  for (let i = 0; i < r.count; i++) {
    const raw = r.raws === null ? null : r.raws.substring(i * rawLength, (i + 1) * rawLength);
    let members: string[] | null = null;
    if (r.lists) {
      members = [];
      for (let m = r.lists.memberStart[i]!; m < r.lists.memberStart[i + 1]!; m++)
        members.push(r.lists.text.substring(m === 0 ? 0 : r.lists.memberEnd[m - 1]!, r.lists.memberEnd[m]));
    }
    let cells: Array<string | null> | null = null;
    if (r.prepared.values) {
      const c = r.prepared.values;
      cells = [];
      for (let k = c.cellStart[i]!; k < c.cellStart[i + 1]!; k++)
        cells.push(
          c.cellNull[k] === 1 ? null : c.text.substring(k === 0 ? 0 : c.cellEnd[k - 1]!, c.cellEnd[k]),
        );
    }
    records.push({
      item: r.item[i]!,
      sourceId: r.sourceIds[i]!,
      json: json.toString('utf8', i === 0 ? 0 : r.jsonEnd[i - 1]!, r.jsonEnd[i]),
      hash: r.hashes.substring(i * HASH_LENGTH, (i + 1) * HASH_LENGTH),
      raw: raw === null || /^-+$/.test(raw) ? null : raw,
      members,
      account: r.account
        ? JSON.parse(r.account.text.substring(i === 0 ? 0 : r.account.end[i - 1]!, r.account.end[i]))
        : null,
      cells,
      row: lines ? lineValues({ bytes: lines.bytes, ends: lines.ends, first: i, last: i + 1 })[0]! : null,
      links: lines
        ? lineValues({
            bytes: lines.links,
            ends: lines.linkEnds,
            first: lines.linkFirst[i]!,
            last: lines.linkFirst[i + 1]!,
          })
        : null,
    });
  }
  if (what.forWriting !== true)
    expect([r.prepared.values, r.prepared.lines, r.account]).toEqual([null, null, null]);
  // The prepared rows are over the page's own JSON bytes, not a copy of them.
  expect(r.prepared.json).toBe(r.json);
  return { itemIds: p.itemIds, notes: p.notes, records, lastId: p.lastId, next: p.next };
}
