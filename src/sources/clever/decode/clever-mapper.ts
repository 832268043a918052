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
 */

type Obj = Record<string, unknown>;

export type MapResult<T> = { ok: true; data: T; warnings: RunProblem[] } | { ok: false; problem: RunProblem };

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

/**
 * Whether the strings of the object being mapped still hold UTF-8 bytes as Latin-1 characters (a
 * page parsed by json-bytes.ts parseJsonBytesDeferred). Set only for the length of a synchronous
 * {@link mapDeferredText} call; every string the mappers keep passes through {@link text}.
 */
let latin1Text = false;

/**
 * Runs `fn` (which maps objects of a body parsed with decoding deferred, see CleverListPage.latin1)
 * with the mappers decoding each string they use.
 */
export function mapDeferredText<T>(latin1: boolean, fn: () => T): T {
  const before = latin1Text;
  latin1Text = latin1;
  try {
    return fn();
  } finally {
    latin1Text = before;
  }
}

/** A string of the object being mapped, decoded (see latin1Text) and without U+0000. */
export function text(s: string): string {
  return withoutNul(latin1Text ? utf8Text(s) : s);
}

/** A non-blank string (numbers are accepted and stringified: some SIS exports send ids as numbers). */
function str(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const s = text(v);
    return s.trim() === '' ? undefined : s;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function strList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    const s = str(x);
    if (s !== undefined && !out.includes(s)) out.push(s);
  }
  return out;
}

function yn(v: unknown): 'Y' | 'N' | undefined {
  const s = str(v)?.toUpperCase();
  return s === 'Y' || s === 'N' ? s : undefined;
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

function name(v: unknown, preferred?: unknown): PersonName {
  const n = obj(v) ?? {};
  const p = obj(preferred) ?? {};
  return compact({
    first: str(n.first),
    last: str(n.last),
    middle: str(n.middle),
    preferredFirst: str(p.first),
    preferredLast: str(p.last),
    preferredMiddle: str(p.middle),
  });
}

function location(v: unknown): Location | undefined {
  const l = obj(v);
  if (!l) return undefined;
  return nonEmpty({
    address: str(l.address),
    city: str(l.city),
    lat: str(l.lat),
    lon: str(l.lon),
    state: str(l.state),
    zip: str(l.zip),
  });
}

function ext(v: unknown): Obj | undefined {
  const e = obj(v);
  return e && Object.keys(e).length > 0 ? (sortedDeep(e) as Obj) : undefined;
}

/** A copy with object keys in sorted order at every level (canonical data hashes on the fast path). */
function sortedDeep(v: unknown): unknown {
  if (typeof v === 'string') return text(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(sortedDeep);
  const out: Obj = {};
  // Sorted by the decoded keys: UTF-8 bytes read as Latin-1 sort apart from the characters they make.
  const keys = Object.keys(v).map((k) => [k, latin1Text ? utf8Text(k) : k] as const);
  keys.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  for (const [k, decoded] of keys) {
    const x = (v as Obj)[k];
    if (x !== undefined) out[withoutNul(decoded)] = sortedDeep(x);
  }
  return out;
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

function grade(
  v: unknown,
  entity: string,
  id: string,
  field: string,
  warnings: RunProblem[],
): Grade | undefined {
  const raw = str(v);
  const g = parseGrade(raw);
  if (g === null) {
    warnings.push(problem(entity, id, field, `not a known grade value; field dropped`, 'warning'));
    return undefined;
  }
  return g;
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

export function mapDistrict(raw: Obj): District {
  const contact = obj(raw.district_contact);
  return compact({
    contact: contact
      ? nonEmpty({
          email: str(contact.email),
          id: str(contact.id),
          name: nonEmpty(name(contact.name)),
          title: str(contact.title),
        })
      : undefined,
    error: str(raw.error),
    lastAttendanceSync: str(raw.last_attendance_sync),
    lastSync: str(raw.last_sync),
    launchDate: str(raw.launch_date),
    lmsState: str(raw.lms_state),
    lmsType: str(raw.lms_type),
    loginMethods: Array.isArray(raw.login_methods) ? strList(raw.login_methods) : undefined,
    mdrNumber: str(raw.mdr_number),
    name: str(raw.name) ?? '(unnamed district)',
    ncesId: str(raw.nces_id),
    pauseEnd: str(raw.pause_end),
    pauseStart: str(raw.pause_start),
    portalUrl: str(raw.portal_url),
    sisType: str(raw.sis_type),
    state: str(raw.state),
  });
}

export function mapSchool(raw: Obj): MapResult<School> & { id?: string } {
  const id = str(raw.id);
  if (!id) return { ok: false, problem: problem('schools', null, 'id', 'record has no id') };
  const warnings: RunProblem[] = [];
  const nm = str(raw.name);
  if (!nm) return { ok: false, problem: problem('schools', id, 'name', 'school has no name') };
  const principal = obj(raw.principal);
  return {
    ok: true,
    id,
    warnings,
    data: compact({
      ext: ext(raw.ext),
      highGrade: grade(raw.high_grade, 'schools', id, 'high_grade', warnings),
      location: location(raw.location),
      lowGrade: grade(raw.low_grade, 'schools', id, 'low_grade', warnings),
      mdrNumber: str(raw.mdr_number),
      name: nm,
      ncesId: str(raw.nces_id),
      phone: str(raw.phone),
      principal: principal ? nonEmpty({ email: str(principal.email), name: str(principal.name) }) : undefined,
      schoolNumber: str(raw.school_number),
      sisId: str(raw.sis_id),
      sourceCreated: str(raw.created),
      sourceModified: str(raw.last_modified),
      stateId: str(raw.state_id),
    }),
  };
}

export function mapTerm(raw: Obj): MapResult<Term> & { id?: string } {
  const id = str(raw.id);
  if (!id) return { ok: false, problem: problem('terms', null, 'id', 'record has no id') };
  return {
    ok: true,
    id,
    warnings: [],
    data: compact({
      endDate: str(raw.end_date),
      name: str(raw.name),
      sisId: str(raw.sis_id),
      startDate: str(raw.start_date),
    }),
  };
}

export function mapCourse(raw: Obj): MapResult<Course> & { id?: string } {
  const id = str(raw.id);
  if (!id) return { ok: false, problem: problem('courses', null, 'id', 'record has no id') };
  return {
    ok: true,
    id,
    warnings: [],
    data: compact({ name: str(raw.name), number: str(raw.number), sisId: str(raw.sis_id) }),
  };
}

export function mapSection(raw: Obj): MapResult<Section> & { id?: string } {
  const id = str(raw.id);
  if (!id) return { ok: false, problem: problem('sections', null, 'id', 'record has no id') };
  const warnings: RunProblem[] = [];
  const school = str(raw.school);
  if (!school) return { ok: false, problem: problem('sections', id, 'school', 'section has no school') };
  const primary = str(raw.teacher);
  const teachers = strList(raw.teachers);
  if (primary && !teachers.includes(primary)) teachers.unshift(primary);
  const lms = obj(raw.lms_status);
  return {
    ok: true,
    id,
    warnings,
    data: compact({
      courseId: str(raw.course),
      ext: ext(raw.ext),
      grade: grade(raw.grade, 'sections', id, 'grade', warnings),
      lmsSynced: typeof lms?.synced_in_lms === 'boolean' ? lms.synced_in_lms : undefined,
      name: str(raw.name) ?? '',
      period: str(raw.period),
      schoolId: school,
      sectionNumber: str(raw.section_number),
      sisId: str(raw.sis_id),
      sourceCreated: str(raw.created),
      sourceModified: str(raw.last_modified),
      studentIds: strList(raw.students),
      subject: str(raw.subject),
      teacherId: primary,
      teacherIds: teachers,
      termId: str(raw.term_id),
    }),
  };
}

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

/**
 * A v3 user holds a `roles` map. `student` and `contact` never combine with other roles (Clever's
 * rule); `teacher`, `staff` and `district_admin` together are ONE staff person with several roles.
 */
export function mapUser(raw: Obj): UserMapResult {
  const id = str(raw.id);
  if (!id)
    return { id: null, records: [], warnings: [], problem: problem('users', null, 'id', 'record has no id') };
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
    const s = mapStudent(id, raw, student, warnings);
    if ('problem' in s) return { id, records: [], warnings, problem: s.problem };
    records.push({ entity: 'students', id, data: s.data });
  } else if (contact) {
    records.push({ entity: 'contacts', id, data: mapContact(id, raw, contact) });
  }
  if ((student || contact) && (teacher || staff || admin)) {
    warnings.push(
      problem('users', id, 'roles', 'staff roles on a student or contact record are ignored', 'warning'),
    );
  } else if (teacher || staff || admin) {
    records.push({ entity: 'staff', id, data: mapStaff(raw, teacher, staff, admin) });
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

function mapStudent(
  id: string,
  raw: Obj,
  s: Obj,
  warnings: RunProblem[],
): { data: Student } | { problem: RunProblem } {
  const primary = str(s.school);
  const schools = strList(s.schools);
  if (primary && !schools.includes(primary)) schools.unshift(primary);
  const schoolId = primary ?? schools[0];
  if (!schoolId) return { problem: problem('students', id, 'school', 'student has no school') };
  let dob: string | undefined;
  const rawDob = str(s.dob);
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
          code: str(disability.disability_code)?.toLowerCase(),
          status: yn(disability.disability_status),
          type: str(disability.disability_type),
        })
      : undefined,
    ellStatus: yn(s.ell_status),
    frlStatus: str(s.frl_status),
    gender: str(s.gender),
    giftedStatus: yn(s.gifted_status),
    hispanicEthnicity: yn(s.hispanic_ethnicity),
    homeLanguage: str(s.home_language),
    homeLanguageCode: str(s.home_language_code),
    iepStatus: str(s.iep_status),
    race: str(s.race),
    section504Status: yn(s.section_504_status),
  });
  const enrollments = Array.isArray(s.enrollments)
    ? (s.enrollments as unknown[])
        .map(obj)
        .filter((e): e is Obj => e !== undefined && str(e.school) !== undefined)
        .map((e) =>
          compact({ endDate: str(e.end_date), schoolId: str(e.school)!, startDate: str(e.start_date) }),
        )
    : undefined;
  const lms = obj(raw.lms_status);
  return {
    data: compact({
      demographics,
      dob,
      email: str(raw.email),
      enrollments: enrollments && enrollments.length > 0 ? enrollments : undefined,
      ext: ext(s.ext),
      grade: grade(s.grade, 'students', id, 'grade', warnings),
      graduationYear: str(s.graduation_year),
      legacyId: str(s.legacy_id),
      lmsSynced: typeof lms?.synced_in_lms === 'boolean' ? lms.synced_in_lms : undefined,
      location: location(s.location),
      name: name(raw.name, s.preferred_name),
      schoolId,
      schoolIds: schools,
      sisId: str(s.sis_id),
      sourceCreated: str(raw.created),
      sourceModified: str(raw.last_modified),
      stateId: str(s.state_id),
      studentNumber: str(s.student_number),
      username: str(obj(s.credentials)?.district_username),
    }),
  };
}

function mapStaff(raw: Obj, teacher: Obj | undefined, staff: Obj | undefined, admin: Obj | undefined): Staff {
  const roles: StaffRole[] = [];
  if (admin) roles.push('district_admin');
  if (staff) roles.push('staff');
  if (teacher) roles.push('teacher');
  const schools: string[] = [];
  for (const s of [str(teacher?.school), ...strList(teacher?.schools), ...strList(staff?.schools)]) {
    if (s !== undefined && !schools.includes(s)) schools.push(s);
  }
  const legacyIds = nonEmpty({
    district_admin: str(admin?.legacy_id),
    staff: str(staff?.legacy_id),
    teacher: str(teacher?.legacy_id),
  }) as Record<string, string> | undefined;
  const extAll = nonEmpty({ staff: ext(staff?.ext), teacher: ext(teacher?.ext) });
  return compact({
    department: str(staff?.department),
    email: str(raw.email),
    ext: extAll,
    legacyIds,
    name: name(raw.name),
    roles,
    schoolIds: schools,
    sisId: str(teacher?.sis_id),
    sourceCreated: str(raw.created),
    sourceModified: str(raw.last_modified),
    staffId: str(staff?.staff_id),
    staffRoleNames: staff && Array.isArray(staff.roles) ? strList(staff.roles) : undefined,
    stateId: str(teacher?.state_id),
    teacherNumber: str(teacher?.teacher_number),
    title: str(teacher?.title) ?? str(staff?.title) ?? str(admin?.title),
    username:
      str(obj(teacher?.credentials)?.district_username) ?? str(obj(staff?.credentials)?.district_username),
  });
}

function mapContact(id: string, raw: Obj, c: Obj): Contact {
  const relationships: ContactRelationship[] = [];
  if (Array.isArray(c.student_relationships)) {
    for (const r of c.student_relationships as unknown[]) {
      const rel = obj(r);
      const student = str(rel?.student);
      if (!rel || !student || relationships.some((x) => x.studentId === student)) continue;
      relationships.push(
        compact({ relationship: str(rel.relationship), studentId: student, type: str(rel.type) }),
      );
    }
  }
  void id;
  return compact({
    email: str(raw.email),
    legacyId: str(c.legacy_id),
    name: name(raw.name),
    phone: str(c.phone),
    phoneType: str(c.phone_type),
    relationships,
    sisId: str(c.sis_id),
    sourceCreated: str(raw.created),
    sourceModified: str(raw.last_modified),
  });
}
