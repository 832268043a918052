import type {
  Contact,
  ContactRelationship,
  Course,
  Demographics,
  District,
  Location,
  PersonName,
  School,
  Section,
  Staff,
  StaffRole,
  Student,
  Term,
} from '../../../model/entities.js';
import { parseGrade } from '../../../model/grade.js';
import type { Grade } from '../../../model/grade.js';
import type { RunProblem } from '../../../model/run.js';
import { utf8Text } from './json-bytes.js';

/**
 * Clever v3.0/v3.1 objects → canonical records. Tolerant by design: `""`, `null`, missing fields,
 * wrong-typed optional fields and unknown keys are all survivable. A record missing what it cannot
 * live without (its id, a student's school, a section's school) is skipped with a problem; a bad
 * optional value (a malformed `dob`, an unknown grade) drops just that field, with a warning.
 * Problems carry the record id and field, never names or dates of birth.
 *
 * The mappers are methods of a {@link CleverMapper}, made for one kind of parsed body, so that how
 * its strings are decoded travels with them: mapping depends on nothing but the mapper and its input.
 *
 * Above ~400 lines because it is one table of field rules per Clever object; splitting it by entity
 * would scatter the shared tolerances (str, name, ext, grade) that keep the entities consistent.
 */

type Obj = Record<string, unknown>;

export type MapResult<T> = { ok: true; data: T; warnings: RunProblem[] } | { ok: false; problem: RunProblem };

export type MappedUser =
  | { entity: 'students'; id: string; data: Student }
  | { entity: 'staff'; id: string; data: Staff }
  | { entity: 'contacts'; id: string; data: Contact };

export interface UserMapResult {
  id: string | null;
  records: MappedUser[];
  warnings: RunProblem[];
  /** Set when the user could not be mapped at all (the record is skipped). */
  problem?: RunProblem;
}
function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}
/**
 * `s` without U+0000 characters. PostgreSQL cannot store them in text, so one in an id, a name or an
 * email would fail a whole batch there; no real value holds one. The page decoder reports each
 * record it removed some from (see page-decoder.ts).
 */
export function withoutNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
}
/** Drops undefined members so that "absent" is one thing in the canonical JSON and its hash. */
function compact<T extends object>(o: T): T {
  // Copies instead of `delete`: deleting properties turns V8 objects into slow dictionaries, and
  // these objects are hashed and serialised right away. Key order is kept (the literals are sorted).
  const out = {} as T;
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
function nonEmpty<T extends object>(o: T): T | undefined {
  const c = compact(o);
  return Object.keys(c).length > 0 ? c : undefined;
}
function problem(
  entity: string,
  recordId: string | null,
  field: string | null,
  reason: string,
  severity: RunProblem['severity'] = 'error',
): RunProblem {
  return { severity, entity, recordId, field, reason };
}
/**
 * Clever's `dob` is `M/D/YYYY` (spec pattern); ISO `YYYY-MM-DD` is accepted too. Returns `YYYY-MM-DD`,
 * or null when the value is present but not a real calendar date.
 */
export function parseDob(v: string): string | null {
  let y: number, m: number, d: number;
  let match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v.trim());
  if (match) {
    m = Number(match[1]);
    d = Number(match[2]);
    y = Number(match[3]);
  } else {
    match = /^(\d{4})-(\d{2})-(\d{2})(?:T.*)?$/.exec(v.trim());
    if (!match) return null;
    y = Number(match[1]);
    m = Number(match[2]);
    d = Number(match[3]);
  }
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || y < 1900)
    return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * Maps the objects of one kind of parsed body. `latin1`: their strings still hold UTF-8 bytes as
 * Latin-1 characters (a body parsed by json-bytes.ts parseJsonBytesDeferred), so every string the
 * mapper keeps goes through {@link CleverMapper.text}. Default false: objects parsed the plain way.
 * Holds no other state, so one instance serves any number of pages.
 */
export class CleverMapper {
  constructor(readonly latin1: boolean = false) {}

  /** A string of the object being mapped, decoded (see `latin1`) and without U+0000. */
  text(s: string): string {
    return withoutNul(this.latin1 ? utf8Text(s) : s);
  }

  /** A non-blank string (numbers are accepted and stringified: some SIS exports send ids as numbers). */
  private str(v: unknown): string | undefined {
    if (typeof v === 'string') {
      const s = this.text(v);
      return s.trim() === '' ? undefined : s;
    }
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    return undefined;
  }

  private strList(v: unknown): string[] {
    if (!Array.isArray(v)) return [];
    const out: string[] = [];
    for (const x of v) {
      const s = this.str(x);
      if (s !== undefined && !out.includes(s)) out.push(s);
    }
    return out;
  }

  private yn(v: unknown): 'Y' | 'N' | undefined {
    const s = this.str(v)?.toUpperCase();
    return s === 'Y' || s === 'N' ? s : undefined;
  }

  private name(v: unknown, preferred?: unknown): PersonName {
    const n = obj(v) ?? {};
    const p = obj(preferred) ?? {};
    return compact({
      first: this.str(n.first),
      last: this.str(n.last),
      middle: this.str(n.middle),
      preferredFirst: this.str(p.first),
      preferredLast: this.str(p.last),
      preferredMiddle: this.str(p.middle),
    });
  }

  private location(v: unknown): Location | undefined {
    const l = obj(v);
    if (!l) return undefined;
    return nonEmpty({
      address: this.str(l.address),
      city: this.str(l.city),
      lat: this.str(l.lat),
      lon: this.str(l.lon),
      state: this.str(l.state),
      zip: this.str(l.zip),
    });
  }

  private ext(v: unknown): Obj | undefined {
    const e = obj(v);
    return e && Object.keys(e).length > 0 ? (this.sortedDeep(e) as Obj) : undefined;
  }

  /** A copy with object keys in sorted order at every level (canonical data hashes on the fast path). */
  private sortedDeep(v: unknown): unknown {
    if (typeof v === 'string') return this.text(v);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      const copy: unknown[] = [];
      for (const x of v) copy.push(this.sortedDeep(x));
      return copy;
    }
    const out: Obj = {};
    // Sorted by the decoded keys: UTF-8 bytes read as Latin-1 sort apart from the characters they make.
    const keys = Object.keys(v).map((k) => [k, this.latin1 ? utf8Text(k) : k] as const);
    keys.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [k, decoded] of keys) {
      const x = (v as Obj)[k];
      if (x !== undefined) out[withoutNul(decoded)] = this.sortedDeep(x);
    }
    return out;
  }

  private grade(
    v: unknown,
    entity: string,
    id: string,
    field: string,
    warnings: RunProblem[],
  ): Grade | undefined {
    const raw = this.str(v);
    const g = parseGrade(raw);
    if (g === null) {
      warnings.push(problem(entity, id, field, `not a known grade value; field dropped`, 'warning'));
      return undefined;
    }
    return g;
  }

  mapDistrict(raw: Obj): District {
    const contact = obj(raw.district_contact);
    return compact({
      contact: contact
        ? nonEmpty({
            email: this.str(contact.email),
            id: this.str(contact.id),
            name: nonEmpty(this.name(contact.name)),
            title: this.str(contact.title),
          })
        : undefined,
      error: this.str(raw.error),
      lastAttendanceSync: this.str(raw.last_attendance_sync),
      lastSync: this.str(raw.last_sync),
      launchDate: this.str(raw.launch_date),
      lmsState: this.str(raw.lms_state),
      lmsType: this.str(raw.lms_type),
      loginMethods: Array.isArray(raw.login_methods) ? this.strList(raw.login_methods) : undefined,
      mdrNumber: this.str(raw.mdr_number),
      name: this.str(raw.name) ?? '(unnamed district)',
      ncesId: this.str(raw.nces_id),
      pauseEnd: this.str(raw.pause_end),
      pauseStart: this.str(raw.pause_start),
      portalUrl: this.str(raw.portal_url),
      sisType: this.str(raw.sis_type),
      state: this.str(raw.state),
    });
  }

  mapSchool(raw: Obj): MapResult<School> & { id?: string } {
    const id = this.str(raw.id);
    if (!id) return { ok: false, problem: problem('schools', null, 'id', 'record has no id') };
    const warnings: RunProblem[] = [];
    const nm = this.str(raw.name);
    if (!nm) return { ok: false, problem: problem('schools', id, 'name', 'school has no name') };
    const principal = obj(raw.principal);
    return {
      ok: true,
      id,
      warnings,
      data: compact({
        ext: this.ext(raw.ext),
        highGrade: this.grade(raw.high_grade, 'schools', id, 'high_grade', warnings),
        location: this.location(raw.location),
        lowGrade: this.grade(raw.low_grade, 'schools', id, 'low_grade', warnings),
        mdrNumber: this.str(raw.mdr_number),
        name: nm,
        ncesId: this.str(raw.nces_id),
        phone: this.str(raw.phone),
        principal: principal
          ? nonEmpty({ email: this.str(principal.email), name: this.str(principal.name) })
          : undefined,
        schoolNumber: this.str(raw.school_number),
        sisId: this.str(raw.sis_id),
        sourceCreated: this.str(raw.created),
        sourceModified: this.str(raw.last_modified),
        stateId: this.str(raw.state_id),
      }),
    };
  }

  mapTerm(raw: Obj): MapResult<Term> & { id?: string } {
    const id = this.str(raw.id);
    if (!id) return { ok: false, problem: problem('terms', null, 'id', 'record has no id') };
    return {
      ok: true,
      id,
      warnings: [],
      data: compact({
        endDate: this.str(raw.end_date),
        name: this.str(raw.name),
        sisId: this.str(raw.sis_id),
        startDate: this.str(raw.start_date),
      }),
    };
  }

  mapCourse(raw: Obj): MapResult<Course> & { id?: string } {
    const id = this.str(raw.id);
    if (!id) return { ok: false, problem: problem('courses', null, 'id', 'record has no id') };
    return {
      ok: true,
      id,
      warnings: [],
      data: compact({ name: this.str(raw.name), number: this.str(raw.number), sisId: this.str(raw.sis_id) }),
    };
  }

  mapSection(raw: Obj): MapResult<Section> & { id?: string } {
    const id = this.str(raw.id);
    if (!id) return { ok: false, problem: problem('sections', null, 'id', 'record has no id') };
    const warnings: RunProblem[] = [];
    const school = this.str(raw.school);
    if (!school) return { ok: false, problem: problem('sections', id, 'school', 'section has no school') };
    const primary = this.str(raw.teacher);
    const teachers = this.strList(raw.teachers);
    if (primary && !teachers.includes(primary)) teachers.unshift(primary);
    const lms = obj(raw.lms_status);
    return {
      ok: true,
      id,
      warnings,
      data: compact({
        courseId: this.str(raw.course),
        ext: this.ext(raw.ext),
        grade: this.grade(raw.grade, 'sections', id, 'grade', warnings),
        lmsSynced: typeof lms?.synced_in_lms === 'boolean' ? lms.synced_in_lms : undefined,
        name: this.str(raw.name) ?? '',
        period: this.str(raw.period),
        schoolId: school,
        sectionNumber: this.str(raw.section_number),
        sisId: this.str(raw.sis_id),
        sourceCreated: this.str(raw.created),
        sourceModified: this.str(raw.last_modified),
        studentIds: this.strList(raw.students),
        subject: this.str(raw.subject),
        teacherId: primary,
        teacherIds: teachers,
        termId: this.str(raw.term_id),
      }),
    };
  }

  /**
   * A v3 user holds a `roles` map. `student` and `contact` never combine with other roles (Clever's
   * rule); `teacher`, `staff` and `district_admin` together are ONE staff person with several roles.
   */
  mapUser(raw: Obj): UserMapResult {
    const id = this.str(raw.id);
    if (!id)
      return {
        id: null,
        records: [],
        warnings: [],
        problem: problem('users', null, 'id', 'record has no id'),
      };
    const roles = obj(raw.roles);
    if (!roles)
      return { id, records: [], warnings: [], problem: problem('users', id, 'roles', 'user has no roles') };
    const warnings: RunProblem[] = [];
    const records: MappedUser[] = [];
    const student = obj(roles.student);
    const contact = obj(roles.contact);
    const teacher = obj(roles.teacher);
    const staff = obj(roles.staff);
    const admin = obj(roles.district_admin);

    if (student) {
      const s = this.mapStudent(id, raw, student, warnings);
      if ('problem' in s) return { id, records: [], warnings, problem: s.problem };
      records.push({ entity: 'students', id, data: s.data });
    } else if (contact) {
      records.push({ entity: 'contacts', id, data: this.mapContact(id, raw, contact) });
    }
    if ((student || contact) && (teacher || staff || admin)) {
      warnings.push(
        problem('users', id, 'roles', 'staff roles on a student or contact record are ignored', 'warning'),
      );
    } else if (teacher || staff || admin) {
      records.push({ entity: 'staff', id, data: this.mapStaff(raw, teacher, staff, admin) });
    }
    if (records.length === 0) {
      return {
        id,
        records,
        warnings,
        problem: problem('users', id, 'roles', 'user has no role rostersync knows'),
      };
    }
    return { id, records, warnings };
  }

  private mapStudent(
    id: string,
    raw: Obj,
    s: Obj,
    warnings: RunProblem[],
  ): { data: Student } | { problem: RunProblem } {
    const primary = this.str(s.school);
    const schools = this.strList(s.schools);
    if (primary && !schools.includes(primary)) schools.unshift(primary);
    const schoolId = primary ?? schools[0];
    if (!schoolId) return { problem: problem('students', id, 'school', 'student has no school') };
    let dob: string | undefined;
    const rawDob = this.str(s.dob);
    if (rawDob !== undefined) {
      const parsed = parseDob(rawDob);
      if (parsed === null)
        warnings.push(problem('students', id, 'dob', 'not a valid M/D/YYYY date; field dropped', 'warning'));
      else dob = parsed;
    }
    const disability = obj(s.disability);
    const demographics: Demographics | undefined = nonEmpty({
      disability: disability
        ? nonEmpty({
            code: this.str(disability.disability_code)?.toLowerCase(),
            status: this.yn(disability.disability_status),
            type: this.str(disability.disability_type),
          })
        : undefined,
      ellStatus: this.yn(s.ell_status),
      frlStatus: this.str(s.frl_status),
      gender: this.str(s.gender),
      giftedStatus: this.yn(s.gifted_status),
      hispanicEthnicity: this.yn(s.hispanic_ethnicity),
      homeLanguage: this.str(s.home_language),
      homeLanguageCode: this.str(s.home_language_code),
      iepStatus: this.str(s.iep_status),
      race: this.str(s.race),
      section504Status: this.yn(s.section_504_status),
    });
    const enrollments = Array.isArray(s.enrollments)
      ? (s.enrollments as unknown[])
          .map(obj)
          .filter((e): e is Obj => e !== undefined && this.str(e.school) !== undefined)
          .map((e) =>
            compact({
              endDate: this.str(e.end_date),
              schoolId: this.str(e.school)!,
              startDate: this.str(e.start_date),
            }),
          )
      : undefined;
    const lms = obj(raw.lms_status);
    return {
      data: compact({
        demographics,
        dob,
        email: this.str(raw.email),
        enrollments: enrollments && enrollments.length > 0 ? enrollments : undefined,
        ext: this.ext(s.ext),
        grade: this.grade(s.grade, 'students', id, 'grade', warnings),
        graduationYear: this.str(s.graduation_year),
        legacyId: this.str(s.legacy_id),
        lmsSynced: typeof lms?.synced_in_lms === 'boolean' ? lms.synced_in_lms : undefined,
        location: this.location(s.location),
        name: this.name(raw.name, s.preferred_name),
        schoolId,
        schoolIds: schools,
        sisId: this.str(s.sis_id),
        sourceCreated: this.str(raw.created),
        sourceModified: this.str(raw.last_modified),
        stateId: this.str(s.state_id),
        studentNumber: this.str(s.student_number),
        username: this.str(obj(s.credentials)?.district_username),
      }),
    };
  }

  private mapStaff(
    raw: Obj,
    teacher: Obj | undefined,
    staff: Obj | undefined,
    admin: Obj | undefined,
  ): Staff {
    const roles: StaffRole[] = [];
    if (admin) roles.push('district_admin');
    if (staff) roles.push('staff');
    if (teacher) roles.push('teacher');
    const schools: string[] = [];
    for (const s of [
      this.str(teacher?.school),
      ...this.strList(teacher?.schools),
      ...this.strList(staff?.schools),
    ]) {
      if (s !== undefined && !schools.includes(s)) schools.push(s);
    }
    const legacyIds = nonEmpty({
      district_admin: this.str(admin?.legacy_id),
      staff: this.str(staff?.legacy_id),
      teacher: this.str(teacher?.legacy_id),
    }) as Record<string, string> | undefined;
    const extAll = nonEmpty({ staff: this.ext(staff?.ext), teacher: this.ext(teacher?.ext) });
    return compact({
      department: this.str(staff?.department),
      email: this.str(raw.email),
      ext: extAll,
      legacyIds,
      name: this.name(raw.name),
      roles,
      schoolIds: schools,
      sisId: this.str(teacher?.sis_id),
      sourceCreated: this.str(raw.created),
      sourceModified: this.str(raw.last_modified),
      staffId: this.str(staff?.staff_id),
      staffRoleNames: staff && Array.isArray(staff.roles) ? this.strList(staff.roles) : undefined,
      stateId: this.str(teacher?.state_id),
      teacherNumber: this.str(teacher?.teacher_number),
      title: this.str(teacher?.title) ?? this.str(staff?.title) ?? this.str(admin?.title),
      username:
        this.str(obj(teacher?.credentials)?.district_username) ??
        this.str(obj(staff?.credentials)?.district_username),
    });
  }

  private mapContact(id: string, raw: Obj, c: Obj): Contact {
    const relationships: ContactRelationship[] = [];
    if (Array.isArray(c.student_relationships)) {
      for (const r of c.student_relationships as unknown[]) {
        const rel = obj(r);
        const student = this.str(rel?.student);
        if (!rel || !student || relationships.some((x) => x.studentId === student)) continue;
        relationships.push(
          compact({ relationship: this.str(rel.relationship), studentId: student, type: this.str(rel.type) }),
        );
      }
    }
    void id;
    return compact({
      email: this.str(raw.email),
      legacyId: this.str(c.legacy_id),
      name: this.name(raw.name),
      phone: this.str(c.phone),
      phoneType: this.str(c.phone_type),
      relationships,
      sisId: this.str(c.sis_id),
      sourceCreated: this.str(raw.created),
      sourceModified: this.str(raw.last_modified),
    });
  }
}
