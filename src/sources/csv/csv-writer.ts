import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { School, Staff, Student } from '../../model/entities.js';
import { toCsvGrade } from '../../model/grade.js';
import type { Grade } from '../../model/grade.js';

/**
 * Writes a roster in the district CSV formats (the same ones `import-csv` reads), streaming page by
 * page. Every field is quoted, so identifiers with leading zeros survive a trip through a spreadsheet
 * that respects quoting.
 */

export const SCHOOL_COLUMNS = [
  'school_sis_id',
  'school_number',
  'school_state_id',
  'name',
  'low_grade',
  'high_grade',
  'address',
  'city',
  'state',
  'zip',
  'phone',
  'principal_name',
  'principal_email',
] as const;
export const STUDENT_COLUMNS = [
  'student_sis_id',
  'student_number',
  'student_state_id',
  'first_name',
  'middle_name',
  'last_name',
  'preferred_first_name',
  'grade_year',
  'school_sis_id',
  'school_number',
  'school_state_id',
  'email',
  'birthday',
  'gender',
  'race',
  'hispanic_ethnicity',
  'ell_status',
  'iep_status',
  'frl_status',
  'section_504_status',
  'graduation_year',
  'home_language',
] as const;
export const STAFF_COLUMNS = [
  'staff_id',
  'staff_sis_id',
  'teacher_number',
  'first_name',
  'last_name',
  'email',
  'role',
  'access_type',
  'school_number_list',
  'grades',
  'title',
] as const;

const g = (grade: Grade | undefined) => (grade ? toCsvGrade(grade) : '');

export function schoolRow(s: School): string[] {
  return [
    s.sisId ?? '',
    s.schoolNumber ?? '',
    s.stateId ?? '',
    s.name,
    g(s.lowGrade),
    g(s.highGrade),
    s.location?.address ?? '',
    s.location?.city ?? '',
    s.location?.state ?? '',
    s.location?.zip ?? '',
    s.phone ?? '',
    s.principal?.name ?? '',
    s.principal?.email ?? '',
  ];
}

export function studentRow(s: Student, school: School | undefined): string[] {
  const d = s.demographics ?? {};
  return [
    s.sisId ?? '',
    s.studentNumber ?? '',
    s.stateId ?? '',
    s.name.first ?? '',
    s.name.middle ?? '',
    s.name.last ?? '',
    s.name.preferredFirst ?? '',
    g(s.grade),
    school?.sisId ?? '',
    school?.schoolNumber ?? '',
    school?.stateId ?? '',
    s.email ?? '',
    s.dob ?? '',
    d.gender ?? '',
    d.race ?? '',
    d.hispanicEthnicity ?? '',
    d.ellStatus ?? '',
    d.iepStatus ?? '',
    d.frlStatus ?? '',
    d.section504Status ?? '',
    s.graduationYear ?? '',
    d.homeLanguage ?? '',
  ];
}

/**
 * The `role` cell: a district-defined role stands for the one built-in role it maps to, so a person
 * with more roles keeps them after it (`counselor;staff;teacher` reads back as counselor + teacher).
 */
function staffRoles(s: Staff): string {
  if (s.districtRole === undefined) return s.roles.join(';');
  return (s.roles.length > 1 ? [s.districtRole, ...s.roles] : [s.districtRole]).join(';');
}

export function staffRow(s: Staff, schools: ReadonlyMap<string, School>): string[] {
  const numbers = s.schoolIds
    .map((id) => schools.get(id)?.schoolNumber)
    .filter((n): n is string => n !== undefined);
  return [
    s.staffId ?? '',
    s.sisId ?? '',
    s.teacherNumber ?? '',
    s.name.first ?? '',
    s.name.last ?? '',
    s.email ?? '',
    staffRoles(s),
    s.accessType ?? '',
    numbers.join(','),
    (s.grades ?? []).map((x) => toCsvGrade(x)).join(','),
    s.title ?? '',
  ];
}

/** staff_overrides.csv columns after the key column. */
export const OVERRIDE_COLUMNS = [
  'title',
  'role',
  'access_type',
  'school_number_list',
  'grades',
  'email',
] as const;

/** The staff_overrides.csv key column of a stored override key type. */
export const OVERRIDE_KEY_COLUMN: Record<string, string> = {
  staff_id: 'staff_id',
  sis_id: 'staff_sis_id',
  teacher_number: 'teacher_number',
};

/** One staff_overrides.csv row from a stored CSV override (blank cells override nothing). */
export function overrideRow(
  keyValue: string,
  fields: Record<string, unknown>,
  schools: ReadonlyMap<string, School>,
): string[] {
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return [
    keyValue,
    text(fields.title),
    list(fields.roles).join(';'),
    text(fields.accessType),
    list(fields.schoolIds)
      .map((id) => schools.get(id)?.schoolNumber)
      .filter((n): n is string => n !== undefined)
      .join(','),
    list(fields.grades)
      .map((x) => toCsvGrade(x as Grade))
      .join(','),
    text(fields.email),
  ];
}

/** Writes one CSV file from an async source of rows. */
export async function writeCsvFile(
  dir: string,
  name: string,
  columns: readonly string[],
  rows: Iterable<string[]> | AsyncIterable<string[]>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await pipeline(
    Readable.from(rows),
    stringify({ header: true, columns: [...columns], quoted: true, record_delimiter: 'unix' }),
    createWriteStream(join(dir, name)),
  );
}
