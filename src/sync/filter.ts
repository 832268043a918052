import type { School, Section, Staff, Student } from '../model/entities.js';
import type { SchoolFilter } from '../model/district-config.js';

/**
 * The district's school filter, applied on top of what the source shares. Schools decide first;
 * the other records then only keep references to schools that are in scope:
 * - a school is in scope when the filter allows it;
 * - a student keeps only in-scope schools (primary = first remaining); with none left it is out;
 * - staff keep only in-scope schools; staff whose schools were all filtered out are out, while staff
 *   who never had schools (district admins, a counselor without a school) stay in;
 * - a section of an out-of-scope school is out.
 * A reference to a school the source never sent is different from a filtered one: it is reported
 * as a problem and the record is left as it was (`unknown`).
 */

export type FilterOutcome<T> =
  { kind: 'keep'; data: T } | { kind: 'filtered' } | { kind: 'unknown'; schoolIds: string[] };

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

export class SchoolScope {
  /** Schools the source sent, in scope or not. */
  private readonly known = new Set<string>();
  private readonly inScope = new Set<string>();
  private readonly patterns: RegExp[];

  constructor(private readonly filter: SchoolFilter | null) {
    this.patterns = (filter?.namePatterns ?? []).map(globToRegExp);
  }

  /** Whether a school passes the filter (by Clever id, sis_id, school_number or name pattern). */
  matches(sourceId: string, school: School): boolean {
    const f = this.filter;
    if (!f) return true;
    const hit =
      f.ids.includes(sourceId) ||
      (school.sisId !== undefined && f.sisIds.includes(school.sisId)) ||
      (school.schoolNumber !== undefined && f.schoolNumbers.includes(school.schoolNumber)) ||
      this.patterns.some((p) => p.test(school.name));
    return f.mode === 'include' ? hit : !hit;
  }

  /** Records a school of the source; returns whether it is in scope. */
  addSchool(sourceId: string, school: School): boolean {
    this.known.add(sourceId);
    const ok = this.matches(sourceId, school);
    if (ok) this.inScope.add(sourceId);
    return ok;
  }

  /**
   * Records a school id that exists but could not be mapped this run: references to it are not
   * "unknown", and it is not in scope either.
   */
  addKnownId(sourceId: string): void {
    this.known.add(sourceId);
  }

  get inScopeCount(): number {
    return this.inScope.size;
  }

  private split(ids: readonly string[]): { kept: string[]; filtered: number; unknown: string[] } {
    const kept: string[] = [];
    const unknown: string[] = [];
    let filtered = 0;
    for (const id of ids) {
      if (this.inScope.has(id)) kept.push(id);
      else if (this.known.has(id)) filtered++;
      else unknown.push(id);
    }
    return { kept, filtered, unknown };
  }

  /**
   * True when a record with these schools passes unchanged (a fast path that needs no record):
   * every school in scope, or a staff member with no schools at all.
   */
  keepsAll(entity: 'students' | 'staff' | 'sections', schoolIds: readonly string[]): boolean {
    if (schoolIds.length === 0) return entity === 'staff';
    for (const id of schoolIds) if (!this.inScope.has(id)) return false;
    return true;
  }

  student(data: Student): FilterOutcome<Student> {
    const { kept, filtered, unknown } = this.split(data.schoolIds);
    if (kept.length === 0)
      return filtered > 0 ? { kind: 'filtered' } : { kind: 'unknown', schoolIds: unknown };
    if (kept.length === data.schoolIds.length) return { kind: 'keep', data };
    const schoolId = kept.includes(data.schoolId) ? data.schoolId : kept[0]!;
    const out: Student = { ...data, schoolId, schoolIds: kept };
    if (data.enrollments) out.enrollments = data.enrollments.filter((e) => kept.includes(e.schoolId));
    if (out.enrollments?.length === 0) delete out.enrollments;
    return { kind: 'keep', data: out };
  }

  staff(data: Staff): FilterOutcome<Staff> {
    if (data.schoolIds.length === 0) return { kind: 'keep', data };
    const { kept, filtered, unknown } = this.split(data.schoolIds);
    if (kept.length === data.schoolIds.length) return { kind: 'keep', data };
    if (kept.length === 0) {
      // A district admin's access is district-wide: losing its schools does not take it out.
      if (data.roles.includes('district_admin')) return { kind: 'keep', data: { ...data, schoolIds: [] } };
      return filtered > 0 ? { kind: 'filtered' } : { kind: 'unknown', schoolIds: unknown };
    }
    return { kind: 'keep', data: { ...data, schoolIds: kept } };
  }

  section(data: Section): FilterOutcome<Section> {
    if (this.inScope.has(data.schoolId)) return { kind: 'keep', data };
    return this.known.has(data.schoolId)
      ? { kind: 'filtered' }
      : { kind: 'unknown', schoolIds: [data.schoolId] };
  }
}
