import type { DistrictConfig } from '../../model/district-config.js';
import type { AccessType, Demographics, School, Staff, StaffRole, Student } from '../../model/entities.js';
import { ACCESS_TYPES, STAFF_ROLES } from '../../model/entities.js';
import { parseGrade } from '../../model/grade.js';
import type { Grade } from '../../model/grade.js';
import type { RunProblem } from '../../model/run.js';
import { parseDob } from '../clever/decode/clever-mapper.js';
import {
  OVERRIDE_COLUMNS,
  SCHOOL_COLUMNS,
  STAFF_COLUMNS,
  STAFF_KEY_COLUMNS,
  STUDENT_COLUMNS,
  STUDENT_KEY_COLUMNS,
} from './csv-columns.js';

/**
 * The district CSV formats (docs/csv-format.md) and their mapping to the canonical model.
 * Rows are validated one by one: a row error skips the row and is reported with file, line, column
 * and reason; file-level checks (columns) live in {@link checkHeader}.
 *
 * Above ~400 lines because it is the whole format: the column specs, the header check and one row
 * mapper per file share the cell readers (identifiers, grades, dates, school references), and the
 * format reads best in one place, next to docs/csv-format.md.
 */

export const CSV_FILES = ['schools.csv', 'students.csv', 'school_staff.csv', 'staff_overrides.csv'] as const;
export type CsvFileName = (typeof CSV_FILES)[number];

interface FileSpec {
  required: readonly string[];
  /** At least one of these columns must be in the header, and non-empty in each row. */
  identifiers: readonly string[];
  /** At least one of these columns must be in the header (school references). */
  oneOf?: readonly string[];
  optional: readonly string[];
}

/** A file's spec: the columns it names in a role, and every other column of the file as optional. */
function fileSpec(columns: readonly string[], named: Omit<FileSpec, 'optional'>): FileSpec {
  const inRole = new Set([...named.required, ...named.identifiers, ...(named.oneOf ?? [])]);
  return { ...named, optional: columns.filter((c) => !inRole.has(c)) };
}

const STAFF_IDENTIFIERS = Object.values(STAFF_KEY_COLUMNS);

export const FILE_SPECS: Record<CsvFileName, FileSpec> = {
  'schools.csv': fileSpec(SCHOOL_COLUMNS, {
    required: ['name'],
    identifiers: ['school_number', 'school_sis_id', 'school_state_id'],
  }),
  'students.csv': fileSpec(STUDENT_COLUMNS, {
    required: ['first_name', 'last_name', 'grade_year'],
    identifiers: Object.values(STUDENT_KEY_COLUMNS),
    oneOf: ['school_number', 'school_sis_id', 'school_state_id'],
  }),
  'school_staff.csv': fileSpec(STAFF_COLUMNS, {
    required: ['first_name', 'last_name'],
    identifiers: STAFF_IDENTIFIERS,
  }),
  'staff_overrides.csv': fileSpec(OVERRIDE_COLUMNS, { required: [], identifiers: STAFF_IDENTIFIERS }),
};

/** The column holding the district's chosen key, per file kind. */
export function keyColumn(file: CsvFileName, config: DistrictConfig): string | null {
  if (file === 'students.csv') return STUDENT_KEY_COLUMNS[config.studentKey];
  if (file === 'school_staff.csv') return STAFF_KEY_COLUMNS[config.staffKey];
  return null;
}

export interface HeaderCheck {
  /** Reasons the file must be rejected (missing columns, duplicates). */
  errors: string[];
  /** Columns we do not know: reported once, ignored. */
  unknown: string[];
}

function suggestion(col: string, known: readonly string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const hit = known.find((k) => norm(k) === norm(col));
  return hit ? ` (did you mean "${hit}"? headers are exact snake_case)` : '';
}

/** File-level checks of a header against the file's spec and the district's keys. */
export function checkHeader(
  file: CsvFileName,
  columns: readonly string[],
  config: DistrictConfig,
): HeaderCheck {
  const spec = FILE_SPECS[file];
  const known = [...spec.required, ...spec.identifiers, ...(spec.oneOf ?? []), ...spec.optional];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const c of columns) {
    // Spreadsheets add empty header cells for formatted but unused columns: ignored, not duplicates.
    if (seen.has(c) && c !== '') errors.push(`column "${c}" appears twice`);
    seen.add(c);
  }
  const unknownCols = columns.filter((c) => !known.includes(c));
  for (const r of spec.required) {
    if (!seen.has(r)) {
      const near = unknownCols.find((u) => suggestion(u, [r]) !== '');
      errors.push(
        `missing required column "${r}"${near ? ` (found "${near}"; headers are exact snake_case)` : ''}`,
      );
    }
  }
  if (!spec.identifiers.some((c) => seen.has(c)))
    errors.push(`needs at least one identifier column: ${spec.identifiers.join(', ')}`);
  if (spec.oneOf && !spec.oneOf.some((c) => seen.has(c)))
    errors.push(`needs a school column: one of ${spec.oneOf.join(', ')}`);
  const key = keyColumn(file, config);
  if (key && !seen.has(key))
    errors.push(`missing column "${key}": it is the district's chosen key for every import`);
  if (file === 'staff_overrides.csv' && columns[0] !== undefined && !spec.identifiers.includes(columns[0])) {
    errors.push(
      `the first column must be the staff key (one of ${spec.identifiers.join(', ')}), not "${columns[0]}"`,
    );
  }
  return {
    errors,
    unknown: [...new Set(unknownCols)].map((c) =>
      c === '' ? '(empty column name)' : c + suggestion(c, known),
    ),
  };
}

/** Resolves school references (school_number, school_sis_id, school_state_id) to school source ids. */
export class SchoolIndex {
  private readonly byColumn = new Map<string, Map<string, string>>([
    ['school_number', new Map()],
    ['school_sis_id', new Map()],
    ['school_state_id', new Map()],
  ]);

  add(sourceId: string, school: Pick<School, 'schoolNumber' | 'sisId' | 'stateId'>): void {
    if (school.schoolNumber) this.byColumn.get('school_number')!.set(school.schoolNumber, sourceId);
    if (school.sisId) this.byColumn.get('school_sis_id')!.set(school.sisId, sourceId);
    if (school.stateId) this.byColumn.get('school_state_id')!.set(school.stateId, sourceId);
  }

  resolve(column: string, value: string): string | undefined {
    return this.byColumn.get(column)?.get(value);
  }

  get size(): number {
    return Math.max(...[...this.byColumn.values()].map((m) => m.size));
  }
}

/**
 * A school's source id in CSV: its sis id, else its number, else its state id, prefixed with the
 * kind so values from different identifier columns can never collide.
 */
export function schoolSourceId(values: Record<string, string>): string | null {
  if (values.school_sis_id) return `sis:${values.school_sis_id}`;
  if (values.school_number) return `number:${values.school_number}`;
  if (values.school_state_id) return `state:${values.school_state_id}`;
  return null;
}

export type RowResult<T> =
  | { ok: true; sourceId: string; data: T; warnings: RowIssue[] }
  | { ok: false; key: string | null; errors: RowIssue[] };

export interface RowIssue {
  column: string | null;
  reason: string;
}

export function rowProblem(
  file: string,
  line: number,
  issue: RowIssue,
  severity: RunProblem['severity'] = 'error',
): RunProblem {
  return { severity, entity: file, recordId: `line ${line}`, field: issue.column, reason: issue.reason };
}

/** Spreadsheets turn long numeric ids into `1.02E+08`; such a value has lost digits for good. */
const SCIENTIFIC = /^[+-]?\d+(?:[.,]\d+)?e[+-]?\d+$/i;

function identifier(values: Record<string, string>, column: string, errors: RowIssue[]): string | undefined {
  const v = values[column];
  if (v === undefined || v === '') return undefined;
  if (SCIENTIFIC.test(v)) {
    errors.push({
      column,
      reason: `"${v}" looks like a number a spreadsheet rewrote in scientific notation; its digits are lost — export identifiers as text`,
    });
    return undefined;
  }
  return v;
}

function opt(values: Record<string, string>, column: string): string | undefined {
  const v = values[column];
  return v === undefined || v === '' ? undefined : v;
}

function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

function nonEmpty<T extends object>(o: T): T | undefined {
  const c = compact(o);
  return Object.keys(c).length > 0 ? c : undefined;
}

function yesNo(values: Record<string, string>, column: string, warnings: RowIssue[]): 'Y' | 'N' | undefined {
  const v = opt(values, column)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['y', 'yes', 'true', '1'].includes(v)) return 'Y';
  if (['n', 'no', 'false', '0'].includes(v)) return 'N';
  // The value is not echoed: these columns are sensitive demographics (never in reports or logs).
  warnings.push({ column, reason: 'not Y or N; value ignored' });
  return undefined;
}

function gradeCell(values: Record<string, string>, column: string, issues: RowIssue[]): Grade | undefined {
  const raw = opt(values, column);
  const g = parseGrade(raw);
  if (g === null) {
    issues.push({
      column,
      reason: `"${raw}" is not a grade (use K, PK, TK, 1–13, or the Clever/OneRoster names)`,
    });
    return undefined;
  }
  return g;
}

/** A list inside one field: separated by commas, semicolons, pipes or spaces. */
export function listCell(value: string | undefined): string[] {
  if (!value) return [];
  return [
    ...new Set(
      value
        .split(/[,;|\s]+/)
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

function resolveSchool(
  values: Record<string, string>,
  schools: SchoolIndex,
  errors: RowIssue[],
): string | undefined {
  for (const column of ['school_sis_id', 'school_number', 'school_state_id']) {
    const ref = identifier(values, column, errors);
    if (ref === undefined) continue;
    const id = schools.resolve(column, ref);
    if (id === undefined)
      errors.push({ column, reason: `school "${ref}" is not in schools.csv (or the stored schools)` });
    return id;
  }
  if (errors.length === 0) errors.push({ column: 'school_number', reason: 'no school given' });
  return undefined;
}

/**
 * A person row's value of the district's chosen key; missing, it is an error unless the key column
 * already has one (a bad identifier is reported once).
 */
function districtKey(
  values: Record<string, string>,
  keyCol: string,
  person: 'student' | 'staff',
  errors: RowIssue[],
): string | undefined {
  const key = identifier(values, keyCol, []);
  if (!key && !errors.some((e) => e.column === keyCol))
    errors.push({ column: keyCol, reason: `required: ${keyCol} is the district's ${person} key` });
  return key;
}

/** A person row's first and last names, both required. */
function requiredName(
  values: Record<string, string>,
  errors: RowIssue[],
): { first: string | undefined; last: string | undefined } {
  const first = opt(values, 'first_name');
  const last = opt(values, 'last_name');
  if (!first) errors.push({ column: 'first_name', reason: 'required' });
  if (!last) errors.push({ column: 'last_name', reason: 'required' });
  return { first, last };
}

export function mapSchoolRow(values: Record<string, string>): RowResult<School> {
  const errors: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  for (const c of FILE_SPECS['schools.csv'].identifiers) identifier(values, c, errors);
  const sourceId = schoolSourceId(values);
  if (!sourceId)
    errors.push({
      column: 'school_number',
      reason: 'needs at least one of school_number, school_sis_id, school_state_id',
    });
  const name = opt(values, 'name');
  if (!name) errors.push({ column: 'name', reason: 'required' });
  const lowGrade = gradeCell(values, 'low_grade', errors);
  const highGrade = gradeCell(values, 'high_grade', errors);
  if (errors.length > 0 || !sourceId || !name) return { ok: false, key: sourceId, errors };
  return {
    ok: true,
    sourceId,
    warnings,
    data: compact({
      highGrade,
      location: nonEmpty({
        address: opt(values, 'address'),
        city: opt(values, 'city'),
        state: opt(values, 'state'),
        zip: opt(values, 'zip'),
      }),
      lowGrade,
      name,
      phone: opt(values, 'phone'),
      principal: nonEmpty({ email: opt(values, 'principal_email'), name: opt(values, 'principal_name') }),
      schoolNumber: opt(values, 'school_number'),
      sisId: opt(values, 'school_sis_id'),
      stateId: opt(values, 'school_state_id'),
    }),
  };
}

export function mapStudentRow(
  values: Record<string, string>,
  config: DistrictConfig,
  schools: SchoolIndex,
): RowResult<Student> {
  const errors: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const keyCol = keyColumn('students.csv', config)!;
  const ids = {
    sisId: identifier(values, 'student_sis_id', errors),
    studentNumber: identifier(values, 'student_number', errors),
    stateId: identifier(values, 'student_state_id', errors),
  };
  const key = districtKey(values, keyCol, 'student', errors);
  const { first, last } = requiredName(values, errors);
  const grade = gradeCell(values, 'grade_year', errors);
  if (grade === undefined && !errors.some((e) => e.column === 'grade_year'))
    errors.push({ column: 'grade_year', reason: 'required' });
  const schoolId = resolveSchool(values, schools, errors);
  let dob: string | undefined;
  const birthday = opt(values, 'birthday');
  if (birthday !== undefined) {
    const parsed = parseDob(birthday);
    if (parsed === null)
      errors.push({ column: 'birthday', reason: 'not a date (use YYYY-MM-DD or M/D/YYYY)' });
    else dob = parsed;
  }
  const email = opt(values, 'email');
  if (email !== undefined && !email.includes('@'))
    warnings.push({ column: 'email', reason: 'not an email address; value ignored' });
  const graduationYear = opt(values, 'graduation_year');
  if (graduationYear !== undefined && !/^\d{4}$/.test(graduationYear)) {
    errors.push({ column: 'graduation_year', reason: `"${graduationYear}" is not a four-digit year` });
  }
  if (errors.length > 0 || !key || !schoolId) return { ok: false, key: key ?? null, errors };
  const demographics: Demographics | undefined = nonEmpty({
    ellStatus: yesNo(values, 'ell_status', warnings),
    frlStatus: opt(values, 'frl_status'),
    gender: opt(values, 'gender'),
    hispanicEthnicity: yesNo(values, 'hispanic_ethnicity', warnings),
    homeLanguage: opt(values, 'home_language'),
    iepStatus: opt(values, 'iep_status'),
    race: opt(values, 'race'),
    section504Status: yesNo(values, 'section_504_status', warnings),
  });
  return {
    ok: true,
    sourceId: key,
    warnings,
    data: compact({
      demographics,
      dob,
      email: email?.includes('@') ? email : undefined,
      grade,
      graduationYear,
      name: compact({
        first,
        last,
        middle: opt(values, 'middle_name'),
        preferredFirst: opt(values, 'preferred_first_name'),
      }),
      schoolId,
      schoolIds: [schoolId],
      sisId: ids.sisId,
      stateId: ids.stateId,
      studentNumber: ids.studentNumber,
    }),
  };
}

/** Maps a CSV role to staff roles: the three built-in roles, a district-defined one, or the default. */
function roles(
  values: Record<string, string>,
  config: DistrictConfig,
  errors: RowIssue[],
): { roles: StaffRole[]; districtRole?: string } {
  const raw = listCell(opt(values, 'role') ?? config.csv.defaultStaffRole);
  const out = new Set<StaffRole>();
  let districtRole: string | undefined;
  for (const r of raw) {
    const lower = r.toLowerCase();
    if ((STAFF_ROLES as readonly string[]).includes(lower)) out.add(lower as StaffRole);
    else if (config.csv.customRoles[lower] !== undefined) {
      out.add(config.csv.customRoles[lower]);
      districtRole = lower;
    } else {
      errors.push({
        column: 'role',
        reason: `"${r}" is not teacher, staff, district_admin or a role defined for this district`,
      });
    }
  }
  return { roles: [...out].sort(), ...(districtRole !== undefined ? { districtRole } : {}) };
}

export function mapStaffRow(
  values: Record<string, string>,
  config: DistrictConfig,
  schools: SchoolIndex,
): RowResult<Staff> {
  const errors: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const keyCol = keyColumn('school_staff.csv', config)!;
  const ids = {
    sisId: identifier(values, 'staff_sis_id', errors),
    staffId: identifier(values, 'staff_id', errors),
    teacherNumber: identifier(values, 'teacher_number', errors),
  };
  const key = districtKey(values, keyCol, 'staff', errors);
  const { first, last } = requiredName(values, errors);
  const r = roles(values, config, errors);
  const accessRaw = opt(values, 'access_type')?.toLowerCase();
  let accessType: AccessType | undefined;
  if (accessRaw !== undefined) {
    if ((ACCESS_TYPES as readonly string[]).includes(accessRaw)) accessType = accessRaw as AccessType;
    else
      errors.push({
        column: 'access_type',
        reason: `"${values.access_type}" is not district, school or caseload`,
      });
  }
  const schoolIds: string[] = [];
  for (const n of listCell(opt(values, 'school_number_list'))) {
    if (SCIENTIFIC.test(n)) {
      errors.push({
        column: 'school_number_list',
        reason: `"${n}" looks like a number a spreadsheet rewrote in scientific notation`,
      });
      continue;
    }
    const id = schools.resolve('school_number', n);
    if (id === undefined)
      errors.push({
        column: 'school_number_list',
        reason: `school "${n}" is not in schools.csv (or the stored schools)`,
      });
    else if (!schoolIds.includes(id)) schoolIds.push(id);
  }
  if (
    accessType === 'school' &&
    schoolIds.length === 0 &&
    !errors.some((e) => e.column === 'school_number_list')
  ) {
    errors.push({ column: 'school_number_list', reason: 'school access needs at least one school' });
  }
  const grades: Grade[] = [];
  for (const g of listCell(opt(values, 'grades'))) {
    const parsed = parseGrade(g);
    if (parsed === null || parsed === undefined)
      errors.push({ column: 'grades', reason: `"${g}" is not a grade` });
    else if (!grades.includes(parsed)) grades.push(parsed);
  }
  const email = opt(values, 'email');
  if (email !== undefined && !email.includes('@'))
    warnings.push({ column: 'email', reason: 'not an email address; value ignored' });
  if (errors.length > 0 || !key || r.roles.length === 0) {
    if (r.roles.length === 0 && !errors.some((e) => e.column === 'role'))
      errors.push({ column: 'role', reason: 'no role' });
    return { ok: false, key: key ?? null, errors };
  }
  return {
    ok: true,
    sourceId: key,
    warnings,
    data: compact({
      accessType,
      districtRole: r.districtRole,
      email: email?.includes('@') ? email : undefined,
      grades: grades.length > 0 ? grades : undefined,
      name: { first, last },
      roles: r.roles,
      schoolIds,
      sisId: ids.sisId,
      staffId: ids.staffId,
      teacherNumber: ids.teacherNumber,
      title: opt(values, 'title'),
    }),
  };
}

export interface OverrideRowResult {
  keyType: 'staff_id' | 'sis_id' | 'teacher_number';
  keyValue: string;
  fields: Record<string, unknown>;
}

/** staff_overrides.csv: the first column is the staff key; blank cells override nothing. */
export function mapOverrideRow(
  columns: readonly string[],
  values: Record<string, string>,
  config: DistrictConfig,
  schools: SchoolIndex,
): { ok: true; value: OverrideRowResult } | { ok: false; errors: RowIssue[] } {
  const errors: RowIssue[] = [];
  const keyColumnName = columns[0]!;
  const keyValue = identifier(values, keyColumnName, errors);
  if (!keyValue) {
    if (errors.length === 0) errors.push({ column: keyColumnName, reason: 'required' });
    return { ok: false, errors };
  }
  const fields: Record<string, unknown> = {};
  const title = opt(values, 'title');
  if (title !== undefined) fields.title = title;
  const email = opt(values, 'email');
  if (email !== undefined) fields.email = email;
  if (opt(values, 'role') !== undefined) {
    const r = roles(values, config, errors);
    if (r.roles.length > 0) fields.roles = r.roles;
  }
  const access = opt(values, 'access_type')?.toLowerCase();
  if (access !== undefined) {
    if ((ACCESS_TYPES as readonly string[]).includes(access)) fields.accessType = access;
    else
      errors.push({
        column: 'access_type',
        reason: `"${values.access_type}" is not district, school or caseload`,
      });
  }
  const list = listCell(opt(values, 'school_number_list'));
  if (list.length > 0) {
    const ids: string[] = [];
    for (const n of list) {
      const id = schools.resolve('school_number', n);
      if (id === undefined)
        errors.push({
          column: 'school_number_list',
          reason: `school "${n}" is not in schools.csv (or the stored schools)`,
        });
      else ids.push(id);
    }
    fields.schoolIds = ids;
  }
  const grades = listCell(opt(values, 'grades'));
  if (grades.length > 0) {
    const parsed = grades.map((g) => parseGrade(g));
    if (parsed.some((g) => g === null || g === undefined))
      errors.push({ column: 'grades', reason: 'not a list of grades' });
    else fields.grades = parsed;
  }
  if (errors.length > 0) return { ok: false, errors };
  const keyType =
    keyColumnName === 'staff_sis_id' ? 'sis_id' : (keyColumnName as 'staff_id' | 'teacher_number');
  void config;
  return { ok: true, value: { keyType, keyValue, fields } };
}
