import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { School, Staff, Student } from '../../model/entities.js';
import { toCsvGrade } from '../../model/grade.js';
import type { Grade } from '../../model/grade.js';
import { STAFF_KEY_COLUMNS } from './csv-columns.js';
import type { OVERRIDE_COLUMNS, SCHOOL_COLUMNS, STAFF_COLUMNS, STUDENT_COLUMNS } from './csv-columns.js';

export { OVERRIDE_COLUMNS, SCHOOL_COLUMNS, STAFF_COLUMNS, STUDENT_COLUMNS } from './csv-columns.js';

/**
 * Writes a roster in the district CSV formats (the same ones `import-csv` reads), streaming page by
 * page. Every field is quoted, so identifiers with leading zeros survive a trip through a spreadsheet
 * that respects quoting.
 */

const g = (grade: Grade | undefined) => (grade ? toCsvGrade(grade) : '');

/** A row as cells by column name: the type makes every column of the file present, and no other. */
export type CsvRow<C extends readonly string[]> = Record<C[number], string>;

export function schoolRow(s: School): CsvRow<typeof SCHOOL_COLUMNS> {
  return {
    school_sis_id: s.sisId ?? '',
    school_number: s.schoolNumber ?? '',
    school_state_id: s.stateId ?? '',
    name: s.name,
    low_grade: g(s.lowGrade),
    high_grade: g(s.highGrade),
    address: s.location?.address ?? '',
    city: s.location?.city ?? '',
    state: s.location?.state ?? '',
    zip: s.location?.zip ?? '',
    phone: s.phone ?? '',
    principal_name: s.principal?.name ?? '',
    principal_email: s.principal?.email ?? '',
  };
}

export function studentRow(s: Student, school: School | undefined): CsvRow<typeof STUDENT_COLUMNS> {
  const d = s.demographics ?? {};
  return {
    student_sis_id: s.sisId ?? '',
    student_number: s.studentNumber ?? '',
    student_state_id: s.stateId ?? '',
    first_name: s.name.first ?? '',
    middle_name: s.name.middle ?? '',
    last_name: s.name.last ?? '',
    preferred_first_name: s.name.preferredFirst ?? '',
    grade_year: g(s.grade),
    school_sis_id: school?.sisId ?? '',
    school_number: school?.schoolNumber ?? '',
    school_state_id: school?.stateId ?? '',
    email: s.email ?? '',
    birthday: s.dob ?? '',
    gender: d.gender ?? '',
    race: d.race ?? '',
    hispanic_ethnicity: d.hispanicEthnicity ?? '',
    ell_status: d.ellStatus ?? '',
    iep_status: d.iepStatus ?? '',
    frl_status: d.frlStatus ?? '',
    section_504_status: d.section504Status ?? '',
    graduation_year: s.graduationYear ?? '',
    home_language: d.homeLanguage ?? '',
  };
}

/**
 * The `role` cell: a district-defined role stands for the one built-in role it maps to, so a person
 * with more roles keeps them after it (`counselor;staff;teacher` reads back as counselor + teacher).
 */
function staffRoles(s: Staff): string {
  if (s.districtRole === undefined) return s.roles.join(';');
  return (s.roles.length > 1 ? [s.districtRole, ...s.roles] : [s.districtRole]).join(';');
}

export function staffRow(s: Staff, schools: ReadonlyMap<string, School>): CsvRow<typeof STAFF_COLUMNS> {
  return {
    staff_id: s.staffId ?? '',
    staff_sis_id: s.sisId ?? '',
    teacher_number: s.teacherNumber ?? '',
    first_name: s.name.first ?? '',
    last_name: s.name.last ?? '',
    email: s.email ?? '',
    role: staffRoles(s),
    access_type: s.accessType ?? '',
    school_number_list: schoolNumbers(s.schoolIds, schools),
    grades: (s.grades ?? []).map((x) => toCsvGrade(x)).join(','),
    title: s.title ?? '',
  };
}

/** `school_number_list`: the numbers of the schools that have one. */
function schoolNumbers(ids: readonly string[], schools: ReadonlyMap<string, School>): string {
  return ids
    .map((id) => schools.get(id)?.schoolNumber)
    .filter((n): n is string => n !== undefined)
    .join(',');
}

/** The staff_overrides.csv key column of a stored override key type. */
export const OVERRIDE_KEY_COLUMN: Record<string, string> = STAFF_KEY_COLUMNS;

/** One staff_overrides.csv row (after its key column) from a stored CSV override; blank cells override nothing. */
export function overrideRow(
  fields: Record<string, unknown>,
  schools: ReadonlyMap<string, School>,
): CsvRow<typeof OVERRIDE_COLUMNS> {
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    title: text(fields.title),
    role: list(fields.roles).join(';'),
    access_type: text(fields.accessType),
    school_number_list: schoolNumbers(list(fields.schoolIds), schools),
    grades: list(fields.grades)
      .map((x) => toCsvGrade(x as Grade))
      .join(','),
    email: text(fields.email),
  };
}

/** Writes one CSV file from an async source of rows. */
export async function writeCsvFile(
  dir: string,
  name: string,
  columns: readonly string[],
  rows: Iterable<Record<string, string>> | AsyncIterable<Record<string, string>>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await pipeline(
    Readable.from(rows),
    stringify({ header: true, columns: [...columns], quoted: true, record_delimiter: 'unix' }),
    createWriteStream(join(dir, name)),
  );
}
