import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { importCsv } from '../../src/sync/csv-import.js';
import type { RunReport } from '../../src/sync/run-report.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import {
  configureDistrict,
  districtFiles,
  generateDistrict,
  runCli,
  STUDENT_HEADER,
  studentId,
  tempFolders,
  toCsv,
  writeDrop,
} from './fixtures.js';

const D = 'district';
const N = 400;
const district = generateDistrict({ students: N });
const base = districtFiles(district);
const col = (name: string) => STUDENT_HEADER.indexOf(name);

/** The base district's student rows with some rows changed (by index) and rows appended. */
function studentsRows(
  change: Record<number, (row: string[]) => string[]> = {},
  extra: string[][] = [],
): string[][] {
  return [...district.students.map((r, i) => (change[i] ? change[i]([...r]) : r)), ...extra];
}

function studentsWith(change: Record<number, (row: string[]) => string[]> = {}): string {
  return toCsv(STUDENT_HEADER, studentsRows(change));
}

/** Cuts `text` at `share` of its length, just after a separator outside quotes (mid-row). */
function cutMidRow(text: string, share: number): string {
  let i = Math.floor(text.length * share);
  while (!(text[i - 1] === ',' && text[i - 2] === '"')) i++;
  return text.slice(0, i);
}

describeEachDatabase('csv bad input', (dbs) => {
  const tmp = tempFolders();
  let store: Store;
  let before: Record<string, unknown>;
  beforeAll(async () => {
    store = await Store.open({ location: await dbs.fresh() });
    await configureDistrict(store, D);
    const r = await importCsv({ store, dir: writeDrop(tmp.make(), base), district: D });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    expect(r.counts.students.created).toBe(N);
    before = await dumpDistrict(store, D);
  });
  afterAll(async () => {
    await store.close();
    tmp.cleanup();
  });

  async function drop(files: Record<string, string | Uint8Array>, only = false): Promise<RunReport> {
    return importCsv({
      store,
      dir: writeDrop(tmp.make(), only ? files : { ...base, ...files }),
      district: D,
    });
  }

  describe('a rejected file applies nothing', () => {
    const students = base['students.csv']!;
    const cases: Array<[string, Record<string, string | Uint8Array>, RegExp]> = [
      [
        'missing required column',
        { 'students.csv': students.replace('"last_name",', '"surname",') },
        /^input: students\.csv: missing required column "last_name"; the file was not applied$/,
      ],
      [
        "the district's key column missing",
        { 'students.csv': students.replace('"student_sis_id",', '"sis_number",') },
        /^input: students\.csv: missing column "student_sis_id": it is the district's chosen key for every import; the file was not applied$/,
      ],
      [
        'duplicate header',
        { 'students.csv': students.replace('"email"', '"first_name"') },
        /^input: students\.csv: column "first_name" appears twice; the file was not applied$/,
      ],
      [
        'unknown file name',
        { 'Students.csv': students },
        /^input: Students\.csv: unknown file name \(file names are exact: "students\.csv"\); expected one of schools\.csv, students\.csv, school_staff\.csv, staff_overrides\.csv; nothing was applied$/,
      ],
      [
        'a spreadsheet instead of CSV',
        { 'students.xlsx': Buffer.from('PK\x03\x04') },
        /^input: students\.xlsx: not a CSV roster file;/,
      ],
      [
        'not CSV (binary)',
        { 'students.csv': Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00]) },
        /^input: students\.csv: contains a NUL byte at byte 5: this is a binary file, not a CSV text file$/,
      ],
      [
        'not UTF-8 (Latin-1)',
        { 'students.csv': Buffer.from(students, 'latin1') },
        /^input: students\.csv: line 3: is not valid UTF-8 \(byte \d+\); save it as UTF-8/,
      ],
      [
        'UTF-16',
        { 'students.csv': Buffer.from('\ufeff' + students, 'utf16le') },
        /^input: students\.csv: is UTF-16 text/,
      ],
      [
        'broken quotes: text after a closing quote',
        { 'students.csv': students.replace(`"${studentId(3)}",`, `"${studentId(3)}"x,`) },
        /^input: students\.csv: line 5: a quoted field is followed by more text before the separator \(stray "\)$/,
      ],
      [
        'broken quotes: a quote inside a bare field',
        { 'students.csv': students.replace(`"${studentId(3)}",`, `ST"U,`) },
        /^input: students\.csv: line 5: a field contains a " that does not open a quoted field/,
      ],
      [
        'huge field',
        {
          'students.csv': studentsWith({
            5: (r) => (r.splice(col('first_name'), 1, 'x'.repeat(300_000)), r),
          }),
        },
        /^input: students\.csv: line 7: a record is longer than 262144 characters/,
      ],
      ['empty file', { 'students.csv': '' }, /^input: students\.csv: is empty \(no header row\)$/],
      ['blank lines only', { 'students.csv': '\r\n\r\n' }, /^input: students\.csv: has no header row$/],
      [
        'more than 2% invalid rows',
        {
          'students.csv': studentsWith(
            Object.fromEntries(
              [...Array(10).keys()].map((i) => [
                i * 7,
                (r: string[]) => (r.splice(col('grade_year'), 1, '3rd'), r),
              ]),
            ),
          ),
        },
        /^input: students\.csv: 10 of 400 rows \(2\.5%\) are invalid, more than the 2\.0% allowed; the file was not applied\. First errors: line 2 \[grade_year\]: "3rd" is not a grade/,
      ],
      [
        'the first 40% of the file, cut mid-row',
        { 'students.csv': cutMidRow(students, 0.4) },
        /^input: students\.csv: line \d+: the file ends in the middle of a row \(has \d+ fields but the header has 10\); it looks truncated or still uploading, so it was not applied$/,
      ],
      [
        'the first 95% of the file, cut mid-row (under the valve and the 2% rule)',
        { 'students.csv': cutMidRow(students, 0.95) },
        /^input: students\.csv: line \d+: the file ends in the middle of a row/,
      ],
      [
        'the first 40% of the file, cut inside a quoted field',
        { 'students.csv': students.slice(0, students.indexOf('"', Math.floor(students.length * 0.4)) + 3) },
        /^input: students\.csv: line \d+: a quoted field is never closed \(a missing " or a truncated file\)$/,
      ],
      [
        'overrides keyed by an unknown column',
        { 'staff_overrides.csv': '"title","staff_sis_id"\r\n"Coach","STF0001"\r\n' },
        /^input: staff_overrides\.csv: the first column must be the staff key/,
      ],
    ];

    for (const [name, files, reason] of cases) {
      it(name, async () => {
        // A valid change in another file of the same drop is not applied either.
        const r = await drop({
          'schools.csv': base['schools.csv']!.replace('Evergreen', 'Everblue'),
          ...files,
        });
        expect(r.status).toBe('failed');
        expect(r.reason).toMatch(reason);
        expect(await dumpDistrict(store, D)).toEqual(before);
      });
    }
  });

  describe('a file that would empty or gut the district is held, deactivating nobody', () => {
    it('header only', async () => {
      const r = await drop({ 'students.csv': toCsv(STUDENT_HEADER, []) });
      expect(r.status).toBe('held');
      expect(r.reason).toBe(
        `held by the safety valve: students: would deactivate ${N} of ${N} active (100.0% > 5% and > 10); students: the source returned none while ${N} are active`,
      );
      expect(r.accounts.deactivated).toBe(0);
      expect(await dumpDistrict(store, D)).toEqual(before);
    });

    it('a file cut exactly at a row boundary (it cannot be told from a complete one)', async () => {
      const text = base['students.csv']!;
      const r = await drop({
        'students.csv': text.slice(0, text.indexOf('\r\n', Math.floor(text.length * 0.4)) + 2),
      });
      expect(r.status).toBe('held');
      expect(r.reason).toMatch(/^held by the safety valve: students: would deactivate \d+ of 400 active/);
      expect(r.accounts.deactivated).toBe(0);
      expect(await dumpDistrict(store, D)).toEqual(before);
    });
  });

  it('the CLI exits 1 for a rejected drop and 2 for a held one, printing the run report', async () => {
    const location = await dbs.fresh();
    const cliStore = await Store.open({ location });
    await configureDistrict(cliStore, D);
    await cliStore.close();
    const args = (dir: string) => ['import-csv', dir, '--database', location, '--district', D, '--json'];

    const ok = await runCli(args(writeDrop(tmp.make(), base)));
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      status: 'succeeded',
      counts: { students: { created: N } },
    });

    const bad = await runCli(args(writeDrop(tmp.make(), { ...base, 'students.csv': '' })));
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      status: 'failed',
      reason: 'input: students.csv: is empty (no header row)',
    });

    const gutted = district.students.slice(0, 100);
    const held = await runCli(
      args(writeDrop(tmp.make(), { ...base, 'students.csv': toCsv(STUDENT_HEADER, gutted) })),
    );
    expect(held.code).toBe(2);
    expect(JSON.parse(held.stdout)).toMatchObject({
      status: 'held',
      accounts: { deactivated: 0, held: 300 },
    });
  });
});

describeEachDatabase('csv row errors', (dbs) => {
  const tmp = tempFolders();
  afterAll(() => tmp.cleanup());

  it('skips and reports bad rows with file, line, column and reason; valid rows apply; bad rows keep their people', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D);
      expect((await importCsv({ store, dir: writeDrop(tmp.make(), base), district: D })).status).toBe(
        'succeeded',
      );
      const scope = { district: D, source: 'csv' as const };
      const hashOf = async (i: number) => (await store.records.get(scope, 'students', studentId(i)))?.hash;
      const bad = [3, 20, 41, 62, 83, 104, 125];
      const hashes = await Promise.all(bad.map(hashOf));
      const set = (column: string, value: string) => (r: string[]) => (r.splice(col(column), 1, value), r);
      const rows = studentsRows(
        {
          1: set('last_name', 'Renamed'), // a valid change
          3: set('first_name', ''),
          20: set('school_number', '999'),
          41: set('grade_year', '14'),
          62: set('birthday', '2012-02-30'),
          83: set('student_number', '1.02E+08'),
          104: (r) => [...r.slice(0, 8), 'extra, "quoted"', ...r.slice(8)], // a stray separator
          125: set('first_name', 'Second copy'),
        },
        [
          [...district.students[125]!.slice(0, 3), 'Third', ...district.students[125]!.slice(4)], // duplicate key
          ['1.02E+08', '999', 'IL1', 'Mangled', 'Key', '3', '001', '', '', ''],
          [studentId(9999), '010000', 'IL2', 'New', 'Student', '4', '002', '', '4/1/2015', ''],
        ],
      );
      const lineOf = (i: number) => `line ${i + 2}`;
      // An unknown extra column rides along.
      const students = toCsv(
        [...STUDENT_HEADER, 'locker_number'],
        rows.map((x) => [...x, '']),
      );
      const r = await importCsv({
        store,
        dir: writeDrop(tmp.make(), { ...base, 'students.csv': students }),
        district: D,
      });
      expect(r.status, r.reason ?? '').toBe('succeeded');
      // Updated: the renamed student and the first copy of the duplicated key (renamed too).
      expect(r.counts.students).toMatchObject({ created: 1, updated: 2, archived: 0, skipped: 8 });
      expect(r.accounts.deactivated).toBe(0);
      const problems = await store.runs.problems(r.runId);
      expect(problems).toEqual([
        {
          severity: 'warning',
          entity: 'students.csv',
          recordId: 'header',
          field: 'locker_number',
          reason: 'unknown column; ignored',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(3),
          field: 'first_name',
          reason: 'required',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(20),
          field: 'school_number',
          reason: 'school "999" is not in schools.csv (or the stored schools)',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(41),
          field: 'grade_year',
          reason: '"14" is not a grade (use K, PK, TK, 1–13, or the Clever/OneRoster names)',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(62),
          field: 'birthday',
          reason: 'not a date (use YYYY-MM-DD or M/D/YYYY)',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(83),
          field: 'student_number',
          reason: expect.stringMatching(
            /^"1\.02E\+08" looks like a number a spreadsheet rewrote in scientific notation/,
          ),
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(104),
          field: null,
          reason: 'has 12 fields but the header has 11; this row was skipped',
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(N),
          field: 'student_sis_id',
          reason: `duplicate key (first on line ${125 + 2}); this row was skipped`,
        },
        {
          severity: 'error',
          entity: 'students.csv',
          recordId: lineOf(N + 1),
          field: 'student_sis_id',
          reason: expect.stringMatching(/^"1\.02E\+08" looks like a number/),
        },
      ]);
      expect(r.problemCount).toBe(problems.length);
      // The people of the bad rows are still there, as they were; the first copy of a duplicate wins.
      for (const [k, i] of bad.entries()) {
        if (i === 125) continue;
        expect(await hashOf(i), `student ${i}`).toBe(hashes[k]);
      }
      expect((await store.records.get(scope, 'students', studentId(125)))?.data.name.first).toBe(
        'Second copy',
      );
      expect((await store.records.get(scope, 'students', studentId(1)))?.data.name.last).toBe('Renamed');
      expect((await store.records.get(scope, 'students', studentId(9999)))?.data.dob).toBe('2015-04-01');
      expect(await store.records.count(scope, 'students')).toBe(N + 1);
      const accounts = await store.accounts.countsByKind(D);
      expect(accounts.student).toEqual({ active: N + 1, inactive: 0 });
    } finally {
      await store.close();
    }
  });

  it('reports staff_overrides.csv warnings and skipped rows too, applying the valid rows', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D);
      expect((await importCsv({ store, dir: writeDrop(tmp.make(), base), district: D })).status).toBe(
        'succeeded',
      );
      const rows = [...Array(60).keys()].map((i) => [
        `STF${String(i).padStart(4, '0')}`,
        `Title ${i}`,
        '',
        '',
      ]);
      rows[7]![3] = '001,777';
      const overrides = toCsv(['staff_sis_id', 'title', 'shoe_size', 'school_number_list'], rows);
      const r = await drop2(store, { 'staff_overrides.csv': overrides });
      expect(r.status, r.reason ?? '').toBe('succeeded');
      expect(r.problems).toEqual([
        {
          severity: 'warning',
          entity: 'staff_overrides.csv',
          recordId: 'header',
          field: 'shoe_size',
          reason: 'unknown column; ignored',
        },
        {
          severity: 'error',
          entity: 'staff_overrides.csv',
          recordId: 'line 9',
          field: 'school_number_list',
          reason: 'school "777" is not in schools.csv (or the stored schools); this row was skipped',
        },
      ]);
      expect(await store.runs.problems(r.runId)).toEqual(r.problems);
      const titles = new Map(
        (await store.accounts.list({ district: D, kind: 'staff' })).map((a) => [a.recordSourceId, a.title]),
      );
      expect(titles.get('STF0001')).toBe('Title 1');
      expect(titles.get('STF0007')).toBe('Teacher'); // the skipped row overrode nothing
    } finally {
      await store.close();
    }
  });

  function drop2(store: Store, files: Record<string, string>): Promise<RunReport> {
    return importCsv({ store, dir: writeDrop(tmp.make(), files), district: D });
  }
});
