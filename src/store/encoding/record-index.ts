import type { Entity, EntityData } from '../../model/entities.js';
import type { RowTextWriter } from './row-text.js';

/**
 * What the store keeps of a record besides its JSON: the indexed identifier columns and the link
 * rows (section members, contact–student links). Pure functions of the record, here in the model so
 * that a source decoding pages ahead (see sources/clever/page-decoder.ts) can compute them where it
 * already holds the record's fields, and the sync's main thread need not parse the record again just
 * to write it. Imports types only: the decoder worker loads this file.
 */

/** The indexed columns of each entity's table, in the order {@link indexValues} gives them. */
export const INDEX_COLUMNS: Readonly<Record<Entity, readonly string[]>> = {
  schools: ['name', 'sis_id', 'state_id', 'school_number'],
  terms: [],
  courses: [],
  sections: ['school_id', 'term_id', 'course_id'],
  students: ['sis_id', 'state_id', 'student_number', 'email', 'school_id', 'grade'],
  staff: ['sis_id', 'state_id', 'staff_id', 'teacher_number', 'email', 'roles'],
  contacts: ['sis_id', 'email'],
};

const lower = (v: string | undefined): string | null =>
  v && v.trim() !== '' ? v.trim().toLowerCase() : null;
const opt = (v: string | undefined): string | null => (v && v.trim() !== '' ? v : null);

/** A record's indexed column values, in {@link INDEX_COLUMNS} order (null: empty or absent). */
export function indexValues(entity: Entity, data: EntityData[Entity]): Array<string | null> {
  switch (entity) {
    case 'schools': {
      const d = data as EntityData['schools'];
      return [d.name, opt(d.sisId), opt(d.stateId), opt(d.schoolNumber)];
    }
    case 'sections': {
      const d = data as EntityData['sections'];
      return [d.schoolId, opt(d.termId), opt(d.courseId)];
    }
    case 'students': {
      const d = data as EntityData['students'];
      return [
        opt(d.sisId),
        opt(d.stateId),
        opt(d.studentNumber),
        lower(d.email),
        d.schoolId,
        d.grade ?? null,
      ];
    }
    case 'staff': {
      const d = data as EntityData['staff'];
      return [
        opt(d.sisId),
        opt(d.stateId),
        opt(d.staffId),
        opt(d.teacherNumber),
        lower(d.email),
        [...d.roles].sort().join(','),
      ];
    }
    case 'contacts': {
      const d = data as EntityData['contacts'];
      return [opt(d.sisId), lower(d.email)];
    }
    case 'terms':
    case 'courses':
      return [];
  }
}

/** Values per link row: sections `[role, userId]`, contacts `[studentId, relationship, type]`. */
export const LINK_WIDTH: Readonly<Partial<Record<Entity, number>>> = { sections: 2, contacts: 3 };

/**
 * The link rows a record implies, each LINK_WIDTH[entity] values long; empty for entities without
 * links. Sections: a row per distinct teacher, then per distinct student. Contacts: a row per
 * distinct student of its relationships (the last relationship to a student wins).
 */
export function linkRows(entity: Entity, data: EntityData[Entity]): Array<Array<string | null>> {
  if (entity === 'sections') {
    const d = data as EntityData['sections'];
    const out: Array<Array<string | null>> = [];
    for (const t of new Set(d.teacherIds)) out.push(['teacher', t]);
    for (const s of new Set(d.studentIds)) out.push(['student', s]);
    return out;
  }
  if (entity === 'contacts') {
    const d = data as EntityData['contacts'];
    const byStudent = new Map<string, Array<string | null>>();
    for (const rel of d.relationships)
      byStudent.set(rel.studentId, [rel.studentId, rel.relationship ?? null, rel.type ?? null]);
    return [...byStudent.values()];
  }
  return [];
}

/**
 * A record's row as one line of COPY text (see row-text.ts): its id, content hash, canonical
 * JSON, raw item hash and scope (see store/migrations/0005-raw-item-hash.ts; null when `raw` is),
 * then its indexed values. The store puts the scope and time columns before it.
 */
export function writeRecordLine(
  w: RowTextWriter,
  entity: Entity,
  sourceId: string,
  hash: string,
  json: string,
  data: EntityData[Entity],
  raw: string | null = null,
  scope: string | null = null,
): void {
  w.value(sourceId);
  w.value(hash);
  w.json(json);
  w.plain(raw);
  if (raw === null || scope === null) w.value(null);
  else w.json(scope);
  for (const v of indexValues(entity, data)) w.value(v);
  w.endLine();
}

/** A record's link rows (see {@link linkRows}) as lines of COPY text: its id, then the link's values. */
export function writeLinkLines(
  w: RowTextWriter,
  entity: Entity,
  sourceId: string,
  data: EntityData[Entity],
): void {
  for (const link of linkRows(entity, data)) {
    w.value(sourceId);
    for (const v of link) w.value(v);
    w.endLine();
  }
}
