import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { districtConfigSchema } from '../../src/model/district-config.js';
import {
  checkHeader,
  listCell,
  mapSchoolRow,
  mapStaffRow,
  mapStudentRow,
  SchoolIndex,
  schoolSourceId,
} from '../../src/sources/csv/csv-mapper.js';
import { readCsv } from '../../src/sources/csv/csv-reader.js';
import type { CsvRow } from '../../src/sources/csv/csv-reader.js';
import { staffRow } from '../../src/sources/csv/csv-writer.js';
import { tempFolders } from './fixtures.js';

const tmp = tempFolders();
afterAll(() => tmp.cleanup());

async function read(body: string | Uint8Array): Promise<{ columns: string[]; rows: CsvRow[] }> {
  const path = join(tmp.make(), 'students.csv');
  writeFileSync(path, body);
  let columns: string[] = [];
  const rows: CsvRow[] = [];
  for await (const r of readCsv(path, 'students.csv', (h) => (columns = h.columns))) rows.push(r);
  return { columns, rows };
}

async function readError(body: string | Uint8Array): Promise<string> {
  try {
    await read(body);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the file to be rejected');
}

describe('csv reader', () => {
  it('reads LF, CRLF, mixed line endings and a BOM alike, with quoted commas, quotes and line breaks', async () => {
    const rows = ['a,b', '"x, y","say ""hi"""', '"two\nlines",z'];
    const expected = [
      { line: 2, values: { a: 'x, y', b: 'say "hi"' } },
      { line: 4, values: { a: 'two\nlines', b: 'z' } },
    ];
    for (const text of [
      rows.join('\n') + '\n',
      rows.join('\r\n') + '\r\n',
      '\ufeff' + rows.join('\r\n'),
      `${rows[0]}\r\n${rows[1]}\n${rows[2]}\r\n`,
    ]) {
      const r = await read(text);
      expect(r.columns).toEqual(['a', 'b']);
      expect(r.rows).toEqual(expected);
    }
  });

  it('keeps identifiers as text and trims cells; skips blank lines', async () => {
    const r = await read('id,name\n\n"00123",  Ana  \n,\n0045,Bo\n');
    expect(r.rows.map((x) => x.values)).toEqual([
      { id: '00123', name: 'Ana' },
      { id: '0045', name: 'Bo' },
    ]);
  });

  it('flags a row whose field count differs from the header, and reads on', async () => {
    const r = await read('a,b\n1,2,3\n4\n5,6\n');
    expect(r.rows.map((x) => [x.line, x.fieldCountError ?? null])).toEqual([
      [2, 'has 3 fields but the header has 2'],
      [3, 'has 1 fields but the header has 2'],
      [4, null],
    ]);
  });

  it('rejects files that are not UTF-8 CSV text with a message naming the file and the problem', async () => {
    expect(await readError('')).toBe('students.csv: is empty (no header row)');
    expect(await readError('\n\n  \n')).toBe('students.csv: has no header row');
    expect(await readError(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]))).toMatch(
      /^students\.csv: contains a NUL byte at byte 5: this is a binary file/,
    );
    expect(
      await readError(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')])),
    ).toMatch(/^students\.csv: is UTF-16 text/);
    // Latin-1 "ë" on line 3 at byte 10: the message says where.
    expect(await readError(Buffer.from('a,b\n1,2\nZo\u00eb,3\n', 'latin1'))).toBe(
      'students.csv: line 3: is not valid UTF-8 (byte 10); save it as UTF-8 (spreadsheets: "CSV UTF-8") and drop it again',
    );
    expect(await readError('a,b\n"1,2\n3,4\n')).toMatch(
      /^students\.csv: line \d+: a quoted field is never closed/,
    );
    expect(await readError('a,b\n"1"x,2\n')).toMatch(
      /^students\.csv: line 2: a quoted field is followed by more text/,
    );
    expect(await readError('a,b\n1,x"y\n')).toMatch(
      /^students\.csv: line 2: a field contains a " that does not open/,
    );
    expect(await readError(`a,b\n1,"${'x'.repeat(300_000)}"\n`)).toMatch(
      /^students\.csv: line 2: a record is longer than 262144 characters/,
    );
  });

  it('turns a read failure after the first look into an error, not a crash of the process', async () => {
    // A directory passes stat() but fails on read (as a file removed or locked mid-way would).
    const run = async () => {
      for await (const _ of readCsv(tmp.make(), 'students.csv', () => undefined)) void _;
    };
    await expect(run()).rejects.toThrow(/^students\.csv: cannot be read$/);
  });

  it('finds the line of a bad byte beyond the first read chunk', async () => {
    const good = 'a,b\n' + 'é,1\n'.repeat(40_000); // 200 KB of two-byte characters: several chunks
    const msg = await readError(Buffer.concat([Buffer.from(good), Buffer.from([0xe9, 0x2c, 0x32, 0x0a])]));
    expect(msg).toMatch(/^students\.csv: line 40002: is not valid UTF-8 \(byte 200004\)/);
  });

  it('rejects a file that ends in the middle of a row (truncated or still uploading)', async () => {
    expect(await readError('a,b,c\n1,2,3\n4,5')).toBe(
      'students.csv: line 3: the file ends in the middle of a row (has 2 fields but the header has 3); it looks truncated or still uploading, so it was not applied',
    );
    // The same short row followed by a line break is an ordinary bad row; a complete last row needs no break.
    expect((await read('a,b,c\n1,2,3\n4,5\n')).rows[1]!.fieldCountError).toBeDefined();
    expect((await read('a,b,c\n1,2,3\n4,5,6')).rows).toHaveLength(2);
    // Cut inside a UTF-8 character.
    expect(await readError(Buffer.from('a,b\n1,Zo\u00eb\n').subarray(0, 9))).toMatch(
      /ends in the middle of a UTF-8 character/,
    );
  });
});

describe('csv mapper', () => {
  const config = districtConfigSchema.parse({
    csv: { customRoles: { counselor: 'staff', coach: 'teacher' } },
  });
  const schools = new SchoolIndex();
  schools.add('sis:SIS-E1', { schoolNumber: '001', sisId: 'SIS-E1', stateId: 'ST-1' });
  schools.add('number:002', { schoolNumber: '002' });

  it('checks headers: required columns, identifiers, the district key, duplicates, unknown columns', () => {
    const students = ['student_sis_id', 'first_name', 'last_name', 'grade_year', 'school_number'];
    expect(checkHeader('students.csv', students, config)).toEqual({ errors: [], unknown: [] });
    expect(checkHeader('students.csv', [...students, 'locker', 'Home_Language'], config).unknown).toEqual([
      'locker',
      'Home_Language (did you mean "home_language"? headers are exact snake_case)',
    ]);
    expect(checkHeader('students.csv', students.slice(0, -1), config).errors).toEqual([
      'needs a school column: one of school_number, school_sis_id, school_state_id',
    ]);
    expect(checkHeader('students.csv', ['student_number', ...students.slice(1)], config).errors).toEqual([
      'missing column "student_sis_id": it is the district\'s chosen key for every import',
    ]);
    expect(checkHeader('students.csv', [...students, 'first_name'], config).errors).toEqual([
      'column "first_name" appears twice',
    ]);
    expect(
      checkHeader(
        'students.csv',
        ['student_sis_id', 'First Name', 'last_name', 'grade_year', 'school_number'],
        config,
      ).errors,
    ).toEqual(['missing required column "first_name" (found "First Name"; headers are exact snake_case)']);
    // Empty header cells (columns a spreadsheet kept) are warnings, never duplicates.
    expect(checkHeader('students.csv', [...students, '', ''], config)).toEqual({
      errors: [],
      unknown: ['(empty column name)'],
    });
    expect(checkHeader('staff_overrides.csv', ['title', 'staff_sis_id'], config).errors).toEqual([
      'the first column must be the staff key (one of staff_id, staff_sis_id, teacher_number), not "title"',
    ]);
  });

  it('chooses a school id from sis id, then number, then state id', () => {
    expect(schoolSourceId({ school_number: '001', school_sis_id: 'X', school_state_id: 'S' })).toBe('sis:X');
    expect(schoolSourceId({ school_number: '001', school_state_id: 'S' })).toBe('number:001');
    expect(schoolSourceId({ school_state_id: 'S' })).toBe('state:S');
    expect(schoolSourceId({ name: 'x' })).toBeNull();
    expect(
      mapSchoolRow({ school_number: '001', name: 'A', low_grade: 'PK', high_grade: '05' }),
    ).toMatchObject({
      ok: true,
      sourceId: 'number:001',
      data: { name: 'A', lowGrade: 'PK', highGrade: '05', schoolNumber: '001' },
    });
    expect(mapSchoolRow({ school_number: '001', name: '', low_grade: '14' })).toEqual({
      ok: false,
      key: 'number:001',
      errors: [
        { column: 'name', reason: 'required' },
        {
          column: 'low_grade',
          reason: '"14" is not a grade (use K, PK, TK, 1–13, or the Clever/OneRoster names)',
        },
      ],
    });
  });

  it('maps a student row and reports every bad cell with its column', () => {
    const ok = mapStudentRow(
      {
        student_sis_id: '000123',
        first_name: 'Zoë',
        last_name: 'Ng',
        grade_year: 'K',
        school_number: '001',
        birthday: '3/7/2015',
        ell_status: 'yes',
        section_504_status: 'pending review',
        email: 'not-an-email',
      },
      config,
      schools,
    );
    expect(ok).toMatchObject({
      ok: true,
      sourceId: '000123',
      data: { grade: 'KG', dob: '2015-03-07', schoolId: 'sis:SIS-E1', demographics: { ellStatus: 'Y' } },
      warnings: [
        { column: 'email', reason: 'not an email address; value ignored' },
        // Sensitive values are never echoed into the report.
        { column: 'section_504_status', reason: 'not Y or N; value ignored' },
      ],
    });
    const bad = mapStudentRow(
      {
        student_sis_id: 'S1',
        student_number: '1.02E+08',
        first_name: '',
        last_name: 'Ng',
        grade_year: '3rd',
        school_number: '999',
        birthday: '2015-02-30',
      },
      config,
      schools,
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.key).toBe('S1');
    expect(!bad.ok && bad.errors.map((e) => e.column)).toEqual([
      'student_number',
      'first_name',
      'grade_year',
      'school_number',
      'birthday',
    ]);
    // A mangled key: no key at all (the row cannot keep anyone).
    const mangled = mapStudentRow(
      { student_sis_id: '1.02E+08', first_name: 'A', last_name: 'B', grade_year: '1', school_number: '001' },
      config,
      schools,
    );
    expect(mangled).toEqual({
      ok: false,
      key: null,
      errors: [
        {
          column: 'student_sis_id',
          reason:
            '"1.02E+08" looks like a number a spreadsheet rewrote in scientific notation; its digits are lost — export identifiers as text',
        },
      ],
    });
  });

  it('maps staff roles: built-in, district-defined, multi-role, default; lists inside one field', () => {
    const base = { staff_sis_id: 'T1', first_name: 'A', last_name: 'B' };
    const roles = (role: string) => {
      const r = mapStaffRow({ ...base, role }, config, schools);
      return r.ok ? [r.data.roles, r.data.districtRole ?? null] : r.errors;
    };
    expect(roles('')).toEqual([['teacher'], null]);
    expect(roles('Counselor')).toEqual([['staff'], 'counselor']);
    expect(roles('counselor;teacher')).toEqual([['staff', 'teacher'], 'counselor']);
    expect(roles('district_admin;teacher')).toEqual([['district_admin', 'teacher'], null]);
    expect(roles('janitor')).toEqual([
      {
        column: 'role',
        reason: '"janitor" is not teacher, staff, district_admin or a role defined for this district',
      },
    ]);
    expect(listCell(' 001, 002;003 | 001 ')).toEqual(['001', '002', '003']);
    const r = mapStaffRow(
      { ...base, role: 'staff', access_type: 'School', school_number_list: '001,002', grades: '9, 10' },
      config,
      schools,
    );
    expect(r).toMatchObject({
      ok: true,
      data: { accessType: 'school', schoolIds: ['sis:SIS-E1', 'number:002'], grades: ['09', '10'] },
    });
    const noSchool = mapStaffRow({ ...base, access_type: 'school' }, config, schools);
    expect(!noSchool.ok && noSchool.errors).toEqual([
      { column: 'school_number_list', reason: 'school access needs at least one school' },
    ]);
  });

  it('writes roles back so that they read the same (district-defined role first)', () => {
    for (const role of [
      'counselor',
      'counselor;teacher',
      'coach;staff',
      'district_admin;teacher',
      'teacher',
    ]) {
      const first = mapStaffRow(
        { staff_sis_id: 'T1', first_name: 'A', last_name: 'B', role },
        config,
        schools,
      );
      if (!first.ok) throw new Error(role);
      const cell = staffRow(first.data, new Map()).role;
      const again = mapStaffRow(
        { staff_sis_id: 'T1', first_name: 'A', last_name: 'B', role: cell },
        config,
        schools,
      );
      expect(again.ok && again.data, role).toEqual(first.data);
    }
  });
});
