import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { DistrictConfigInput } from '../../src/model/district-config.js';
import { STAFF_COLUMNS } from '../../src/sources/csv/csv-writer.js';
import type { Store } from '../../src/store/store.js';

/**
 * Fixtures for the CSV tests, generated into temp folders (nothing large is committed): a synthetic
 * district of any size in the district CSV formats, helpers to write drops, and the CLI runner.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAMPLE_DIR = join(ROOT, 'samples', 'csv', 'springfield');
/** The sample district uses the district-defined role `counselor`. */
export const SAMPLE_CONFIG: DistrictConfigInput = { csv: { customRoles: { counselor: 'staff' } } };

export const SCHOOL_HEADER = [
  'school_number',
  'school_sis_id',
  'school_state_id',
  'name',
  'low_grade',
  'high_grade',
];
export const STUDENT_HEADER = [
  'student_sis_id',
  'student_number',
  'student_state_id',
  'first_name',
  'last_name',
  'grade_year',
  'school_number',
  'email',
  'birthday',
  'home_language',
];
/** staff files carry every column the import reads, in the order the export writes them. */
export const STAFF_HEADER: string[] = [...STAFF_COLUMNS];

const FIRST = ['Ana', 'Zoë', 'Liam', "D'Andre", 'Siobhán', 'Kofi', 'Wei', 'María José'];
const LAST = ['Martinez', "O'Brien", 'Chen', 'Okafor', 'Nguyễn', 'Smith, Jr.', 'Dvořák', 'Patel'];

export interface GeneratedDistrict {
  schools: string[][];
  students: string[][];
  staff: string[][];
}

/** The student key (student_sis_id) of student `i`. */
export const studentId = (i: number) => `STU${String(i).padStart(6, '0')}`;
/** The staff key (staff_sis_id) of staff member `i`. */
export const staffId = (i: number) => `STF${String(i).padStart(4, '0')}`;

/**
 * A deterministic district: three schools (001 elementary, 002 middle, 003 high), `students`
 * students and `staff` staff, with the quirks of real files (leading zeros, commas and quotes in
 * names, accents, both date formats).
 */
export function generateDistrict(opts: { students: number; staff?: number }): GeneratedDistrict {
  const schools = [
    ['001', 'SIS-E1', 'ST-9001', 'Evergreen Elementary', 'K', '5'],
    ['002', 'SIS-M1', 'ST-9002', 'Lincoln Middle School', '6', '8'],
    ['003', 'SIS-H1', 'ST-9003', 'Springfield High School', '9', '12'],
  ];
  const students: string[][] = [];
  for (let i = 0; i < opts.students; i++) {
    const grade = i % 13; // 0 = K
    const school = grade <= 5 ? '001' : grade <= 8 ? '002' : '003';
    const year = 2019 - grade;
    students.push([
      studentId(i),
      String(i + 1).padStart(6, '0'),
      `IL${70000000 + i}`,
      FIRST[i % FIRST.length]!,
      LAST[(i * 7) % LAST.length]!,
      grade === 0 ? 'K' : String(grade),
      school,
      i % 5 === 0 ? '' : `s${i}@students.example.org`,
      i % 2 === 0 ? `${year}-0${(i % 9) + 1}-1${i % 9}` : `${(i % 9) + 1}/1${i % 9}/${year}`,
      i % 3 === 0 ? 'Spanish' : 'English',
    ]);
  }
  const staff: string[][] = [];
  for (let i = 0; i < (opts.staff ?? 12); i++) {
    const school = ['001', '002', '003'][i % 3]!;
    const role = i === 0 ? 'district_admin' : i % 5 === 4 ? 'staff' : 'teacher';
    staff.push([
      `E${i}`,
      staffId(i),
      role === 'teacher' ? String(4400 + i) : '',
      FIRST[(i + 3) % FIRST.length]!,
      LAST[(i + 1) % LAST.length]!,
      `staff${i}@example.org`,
      role,
      role === 'district_admin' ? 'district' : '',
      role === 'district_admin' ? '' : school,
      '',
      role === 'teacher' ? 'Teacher' : 'Staff',
    ]);
  }
  return { schools, students, staff };
}

export interface CsvStyle {
  /** Quote every field (default true). */
  quoteAll?: boolean;
  eol?: '\n' | '\r\n';
  bom?: boolean;
}

function field(v: string, quoteAll: boolean): string {
  if (quoteAll || /[",\r\n]/.test(v)) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

/** One CSV text from a header and rows. */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style: CsvStyle = {},
): string {
  const q = style.quoteAll ?? true;
  const eol = style.eol ?? '\r\n';
  const lines = [header, ...rows].map((r) => r.map((v) => field(v, q)).join(','));
  return (style.bom ? '\ufeff' : '') + lines.join(eol) + eol;
}

/** The three files of a generated district. */
export function districtFiles(d: GeneratedDistrict, style: CsvStyle = {}): Record<string, string> {
  return {
    'schools.csv': toCsv(SCHOOL_HEADER, d.schools, style),
    'students.csv': toCsv(STUDENT_HEADER, d.students, style),
    'school_staff.csv': toCsv(STAFF_HEADER, d.staff, style),
  };
}

/** Temp folders, removed by `cleanup()` (call it in afterAll). */
export function tempFolders(prefix = 'rostersync-csv-') {
  const made: string[] = [];
  return {
    make(): string {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Writes files (text or bytes) into `dir` (created) and returns `dir`. */
export function writeDrop(dir: string, files: Record<string, string | Uint8Array>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

export async function configureDistrict(
  store: Store,
  district: string,
  config: DistrictConfigInput = {},
): Promise<void> {
  await store.districts.ensure(district, district);
  await store.districts.setConfig(district, districtConfigSchema.parse(config));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (`node bin/rostersync.js …`). */
export function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'rostersync.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
