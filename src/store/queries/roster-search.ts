import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { SourceKind, StoredRecord } from '../../model/entities.js';
import { SOURCE_PRECEDENCE } from '../../model/entities.js';
import type { DialectQueries } from '../dialect/dialect.js';
import type { DB } from '../schema.js';
import { BASE_COLUMNS, toStored } from './records.js';

/** The roster entities the API lists and shows. */
export const BROWSED_ENTITIES = ['schools', 'students', 'staff', 'contacts', 'sections'] as const;
export type BrowsedEntity = (typeof BROWSED_ENTITIES)[number];

/** Entities that can be filtered by school (contacts belong to students, not schools). */
export const SCHOOL_FILTERED = ['students', 'staff', 'sections'] as const;

export const ROSTER_PAGE_DEFAULT_LIMIT = 100;
export const ROSTER_PAGE_MAX_LIMIT = 1000;

export interface RosterQuery {
  district: string;
  /** Only records of this school (students and staff: any of their schools; sections: theirs). */
  school?: string;
  /**
   * Records holding the text exactly as an identifier (source id, SIS, state, student, staff or
   * teacher number, school number, email, username) or with a name part starting with each word
   * (school and section names: containing each word). Case-insensitive for names and emails.
   */
  text?: string;
  /** The `next` cursor of the page before. */
  after?: string;
  /** Default {@link ROSTER_PAGE_DEFAULT_LIMIT}, at most {@link ROSTER_PAGE_MAX_LIMIT}. */
  limit?: number;
}

export interface RosterPage<E extends BrowsedEntity> {
  items: Array<StoredRecord<E>>;
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** Identifier columns of each entity's table (email is stored lower-cased). */
const IDENTIFIER_COLUMNS: Record<BrowsedEntity, readonly string[]> = {
  schools: ['sis_id', 'state_id', 'school_number'],
  students: ['sis_id', 'state_id', 'student_number', 'email'],
  staff: ['sis_id', 'state_id', 'staff_id', 'teacher_number', 'email'],
  contacts: ['sis_id', 'email'],
  sections: [],
};

const PERSON_NAME_KEYS = ['first', 'middle', 'last', 'preferredFirst', 'preferredMiddle', 'preferredLast'];
const MAX_WORDS = 6;

function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function lowerLike(e: Expression<string | null>, pattern: string): Expression<SqlBool> {
  return sql<boolean>`lower(${e}) like ${pattern} escape '\\'`;
}

/** A page cursor: the last record's source and id (a source never contains `:`). */
function parseCursor(after: string): [string, string] | null {
  const at = after.indexOf(':');
  return at <= 0 ? null : [after.slice(0, at), after.slice(at + 1)];
}

/**
 * Reading the active roster a page at a time (schools, students, staff, contacts, sections of a
 * district), filtered by school and searched by name or identifier, and one record by id.
 */
export class RosterSearchRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly q: DialectQueries,
  ) {}

  /**
   * One page of the district's active records in key order (source, then id), so paging is
   * complete and stable. An `after` that is no cursor of ours starts from the beginning.
   */
  async list<E extends BrowsedEntity>(entity: E, query: RosterQuery): Promise<RosterPage<E>> {
    const limit = Math.min(Math.max(1, query.limit ?? ROSTER_PAGE_DEFAULT_LIMIT), ROSTER_PAGE_MAX_LIMIT);
    // One table at a time: the union of the record tables' types is more than the builder needs.
    const table = entity as 'students';
    let q = this.db
      .selectFrom(table)
      .select(BASE_COLUMNS)
      .where('district_id', '=', query.district)
      .where('archived_at', 'is', null);
    const cursor = query.after !== undefined ? parseCursor(query.after) : null;
    if (cursor)
      q = q.where((eb) => eb(eb.refTuple('source', 'source_id'), '>', eb.tuple(cursor[0], cursor[1])));
    if (query.school !== undefined) {
      const school = query.school;
      q = q.where((eb) => this.schoolMatch(eb, entity, school));
    }
    const text = query.text?.trim();
    if (text) q = q.where((eb) => this.textMatch(eb, entity, text));
    const rows = await q
      .orderBy('source')
      .orderBy('source_id')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => toStored(entity, r)),
      next: rows.length > limit && last ? `${last.source}:${last.source_id}` : null,
    };
  }

  /**
   * The active record of the district with this source id; where two sources hold one (a district
   * moving from CSV to Clever), the higher source's.
   */
  async get<E extends BrowsedEntity>(
    entity: E,
    district: string,
    sourceId: string,
  ): Promise<StoredRecord<E> | undefined> {
    const rows = await this.db
      .selectFrom(entity as 'students')
      .selectAll()
      .where('district_id', '=', district)
      .where('source', 'in', ['clever', 'csv', 'manual'])
      .where('source_id', '=', sourceId)
      .where('archived_at', 'is', null)
      .execute();
    const best = rows.sort(
      (a, b) => SOURCE_PRECEDENCE[b.source as SourceKind] - SOURCE_PRECEDENCE[a.source as SourceKind],
    )[0];
    return best ? toStored(entity, best) : undefined;
  }

  private schoolMatch(
    eb: ExpressionBuilder<DB, 'students'>,
    entity: BrowsedEntity,
    school: string,
  ): Expression<SqlBool> {
    if (entity === 'sections') return eb(sql.ref<string>('school_id'), '=', school);
    if (entity === 'students' || entity === 'staff') return this.q.jsonArrayHas('data', 'schoolIds', school);
    return eb.lit(false);
  }

  private textMatch(
    eb: ExpressionBuilder<DB, 'students'>,
    entity: BrowsedEntity,
    text: string,
  ): Expression<SqlBool> {
    const arms: Array<Expression<SqlBool>> = [eb('source_id', '=', text)];
    for (const col of IDENTIFIER_COLUMNS[entity]) {
      arms.push(eb(sql.ref<string>(col), '=', col === 'email' ? text.toLowerCase() : text));
    }
    if (entity === 'students' || entity === 'staff') {
      arms.push(eb(this.q.jsonText('data', ['username']), '=', text));
    }
    const words = text.toLowerCase().split(/\s+/).filter(Boolean).slice(0, MAX_WORDS);
    if (entity === 'schools' || entity === 'sections') {
      const name: Expression<string | null> =
        entity === 'schools' ? sql.ref<string>('name') : this.q.jsonText('data', ['name']);
      arms.push(eb.and(words.map((w) => lowerLike(name, `%${likeEscaped(w)}%`))));
    } else {
      const parts = PERSON_NAME_KEYS.map((k) => this.q.jsonText('data', ['name', k]));
      arms.push(eb.and(words.map((w) => eb.or(parts.map((p) => lowerLike(p, `${likeEscaped(w)}%`))))));
    }
    return eb.or(arms);
  }
}
