import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { exportCsv } from '../../src/sync/csv-export.js';
import { importCsv } from '../../src/sync/csv-import.js';
import { changedNothing, exitCodeFor } from '../../src/sync/run-report.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import {
  configureDistrict,
  generateDistrict,
  SAMPLE_CONFIG,
  SAMPLE_DIR,
  SCHOOL_HEADER,
  STAFF_HEADER,
  STUDENT_HEADER,
  tempFolders,
  toCsv,
  writeDrop,
} from './fixtures.js';

const FILES = ['schools.csv', 'students.csv', 'school_staff.csv', 'staff_overrides.csv'];

describeEachDatabase('csv round trip', (dbs) => {
  const tmp = tempFolders();
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    tmp.cleanup();
  });
  async function freshStore(config = SAMPLE_CONFIG, district = 'springfield'): Promise<Store> {
    const store = await Store.open({ location: await dbs.fresh() });
    stores.push(store);
    await configureDistrict(store, district, config);
    return store;
  }

  it('imports the sample district; its export imported into a fresh database gives the same roster and accounts', async () => {
    const a = await freshStore();
    const first = await importCsv({ store: a, dir: SAMPLE_DIR, district: 'springfield' });
    expect(first.status, first.reason ?? '').toBe('succeeded');
    expect(first.problemCount).toBe(0);
    expect(first.counts.schools.created).toBe(3);
    expect(first.counts.students.created).toBe(36);
    expect(first.counts.staff.created).toBe(8);
    expect(first.accounts.provisioned).toBe(44);

    // What the sample says, as accounts: a district-defined role, a multi-role person, an override.
    const staff = await a.accounts.list({ district: 'springfield', kind: 'staff' });
    const byRecord = new Map(staff.map((s) => [s.recordSourceId, s]));
    expect(byRecord.get('SIS-S1')).toMatchObject({
      roles: ['staff'],
      access: { type: 'caseload', schoolIds: [], grades: ['09', '10', '11', '12'] },
    });
    expect(byRecord.get('SIS-A2')).toMatchObject({
      roles: ['district_admin', 'teacher'],
      access: { type: 'district' },
    });
    expect(byRecord.get('SIS-T4')).toMatchObject({
      title: 'Music Teacher (itinerant)',
      access: { type: 'school', schoolIds: ['sis:SIS-E1', 'sis:SIS-M1', 'sis:SIS-H1'] },
    });
    const student = await a.records.get({ district: 'springfield', source: 'csv' }, 'students', 'S1000');
    expect(student?.data).toMatchObject({ studentNumber: '000001', schoolId: 'sis:SIS-E1', grade: '02' });

    const out = tmp.make();
    expect(await exportCsv(a, 'springfield', out)).toEqual({
      schools: 3,
      students: 36,
      staff: 8,
      overrides: 1,
    });

    const b = await freshStore();
    const copy = await importCsv({ store: b, dir: out, district: 'springfield' });
    expect(copy.status, copy.reason ?? '').toBe('succeeded');
    expect(copy.problemCount).toBe(0);
    expect(await dumpDistrict(b, 'springfield')).toEqual(await dumpDistrict(a, 'springfield'));

    // The copy exports byte for byte the same files.
    const again = tmp.make();
    await exportCsv(b, 'springfield', again);
    for (const f of FILES)
      expect(readFileSync(join(again, f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it('re-importing the same files changes nothing', async () => {
    const store = await freshStore();
    await importCsv({ store, dir: SAMPLE_DIR, district: 'springfield' });
    const before = await dumpDistrict(store, 'springfield');
    const feed = await store.changeFeed.lastSeq();
    const again = await importCsv({ store, dir: SAMPLE_DIR, district: 'springfield' });
    expect(again.status).toBe('succeeded');
    expect(exitCodeFor(again.status)).toBe(0);
    expect(changedNothing(again)).toBe(true);
    expect(again.counts.students).toMatchObject({ unchanged: 36, created: 0, updated: 0, archived: 0 });
    expect(again.counts.staff).toMatchObject({ unchanged: 8, created: 0, updated: 0, archived: 0 });
    expect(again.counts.schools).toMatchObject({ unchanged: 3, created: 0, updated: 0, archived: 0 });
    expect(Object.values(again.accounts).every((n) => n === 0)).toBe(true);
    expect(await store.changeFeed.lastSeq()).toBe(feed);
    expect(await dumpDistrict(store, 'springfield')).toEqual(before);
  });

  it('round-trips the quirks of real files: BOM, CRLF, bare fields, ids by any column, multi-role district roles', async () => {
    const config = { csv: { customRoles: { counselor: 'staff' as const, coach: 'teacher' as const } } };
    const d = generateDistrict({ students: 60, staff: 10 });
    // A school known only by its state id, and one by its sis id only.
    d.schools.push(
      ['', '', 'ST-9100', 'Hospital School', 'PK', '12'],
      ['', 'SIS-V1', '', 'Virtual Academy', '6', '12'],
    );
    const students = d.students.map((r) => [...r, '', '']);
    // Columns 10 and 11 are school_sis_id and school_state_id; school_number (6) left blank.
    students[1]![6] = '';
    students[1]![11] = 'ST-9100';
    students[2]![6] = '';
    students[2]![10] = 'SIS-V1';
    const staff = d.staff.map((r) => [...r]);
    staff[1]![6] = 'counselor;teacher';
    staff[2]![6] = 'Coach';
    staff[3]![6] = '';
    const studentHeader = [
      ...STUDENT_HEADER.slice(0, 7),
      'school_sis_id',
      'school_state_id',
      ...STUDENT_HEADER.slice(7),
    ];
    const reorder = (r: string[]) => [...r.slice(0, 7), r[10]!, r[11]!, ...r.slice(7, 10)];
    const dir = writeDrop(tmp.make(), {
      'schools.csv': toCsv(SCHOOL_HEADER, d.schools, { quoteAll: false, eol: '\n', bom: true }),
      'students.csv': toCsv(studentHeader, students.map(reorder), {
        quoteAll: false,
        eol: '\r\n',
        bom: true,
      }),
      'school_staff.csv': toCsv(STAFF_HEADER, staff, { quoteAll: true, eol: '\n' }),
    });
    const a = await freshStore(config, 'quirks');
    const r = await importCsv({ store: a, dir, district: 'quirks' });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.counts.students.created).toBe(60);
    expect(r.counts.schools.created).toBe(5);
    const scope = { district: 'quirks', source: 'csv' as const };
    expect((await a.records.get(scope, 'students', students[1]![0]!))?.data.schoolId).toBe('state:ST-9100');
    expect((await a.records.get(scope, 'students', students[2]![0]!))?.data.schoolId).toBe('sis:SIS-V1');
    expect((await a.records.get(scope, 'staff', staff[1]![1]!))?.data).toMatchObject({
      roles: ['staff', 'teacher'],
      districtRole: 'counselor',
    });
    expect((await a.records.get(scope, 'staff', staff[3]![1]!))?.data.roles).toEqual(['teacher']);
    // "Smith, Jr." and "Nguyễn" came through bare and BOM'd files intact.
    const names = (await a.records.list(scope, 'students', { limit: 100 })).map((s) => s.data.name.last);
    expect(names).toContain('Smith, Jr.');
    expect(names).toContain('Nguyễn');

    const out = tmp.make();
    await exportCsv(a, 'quirks', out);
    const b = await freshStore(config, 'quirks');
    const copy = await importCsv({ store: b, dir: out, district: 'quirks' });
    expect(copy.status, copy.reason ?? '').toBe('succeeded');
    expect(await dumpDistrict(b, 'quirks')).toEqual(await dumpDistrict(a, 'quirks'));
  });
});
