import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createManualAccount } from '../../src/accounts/manual.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { Store } from '../../src/store/store.js';
import { importCsv } from '../../src/sync/csv-import.js';
import { approveRun } from '../../src/sync/run-control.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { configureDistrict, SAMPLE_CONFIG, SAMPLE_DIR, tempFolders, writeDrop } from './fixtures.js';

const D = 'springfield';
const sample = (f: string) => readFileSync(join(SAMPLE_DIR, f), 'utf8');
const studentLines = sample('students.csv')
  .split('\r\n')
  .filter((l) => l !== '');
const allStudentIds = studentLines.slice(1).map((l) => l.split(',')[0]!.replace(/"/g, ''));

/** The sample drop with only the students `keep` allows, plus extra student lines. */
function sampleDrop(dir: string, keep: (id: string) => boolean, extra: string[] = []): string {
  const rows = studentLines.slice(1).filter((_, i) => keep(allStudentIds[i]!));
  return writeDrop(dir, {
    'schools.csv': sample('schools.csv'),
    'students.csv': [studentLines[0]!, ...rows, ...extra].join('\r\n') + '\r\n',
    'school_staff.csv': sample('school_staff.csv'),
    'staff_overrides.csv': sample('staff_overrides.csv'),
  });
}

async function studentAccountsByRecord(store: Store): Promise<Map<string, StoredAccount>> {
  const list = await store.accounts.list({ district: D, kind: 'student', limit: 1000 });
  return new Map(list.filter((a) => a.recordSourceId !== null).map((a) => [a.recordSourceId!, a]));
}

describeEachDatabase('csv full-file semantics', (dbs) => {
  const tmp = tempFolders();
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    tmp.cleanup();
  });
  async function imported(): Promise<{ store: Store; manual: StoredAccount[] }> {
    const store = await Store.open({ location: await dbs.fresh() });
    stores.push(store);
    await configureDistrict(store, D, SAMPLE_CONFIG);
    const r = await importCsv({ store, dir: SAMPLE_DIR, district: D });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    const manual = [
      await createManualAccount(store, {
        district: D,
        kind: 'staff',
        name: { first: 'Help', last: 'Desk' },
        email: 'helpdesk@springfield.example.org',
        roles: ['staff'],
      }),
      // Holds the key of a student who only appears in a later file.
      await createManualAccount(store, {
        district: D,
        kind: 'student',
        name: { first: 'Hand', last: 'Made' },
        identities: [{ type: 'sis_id', value: 'S2000' }],
      }),
    ];
    return { store, manual };
  }
  async function expectManualUntouched(store: Store, manual: StoredAccount[]) {
    for (const m of manual) expect(await store.accounts.get(m.id)).toEqual(m);
  }

  it('a drop missing a few students deactivates exactly those accounts, never a hand-made one', async () => {
    const { store, manual } = await imported();
    const gone = ['S1003', 'S1017', 'S1030'];
    const extra =
      '"S2000","000999","IL79999999","New","","Student","","3","001","","","","","","","","","","2036",""';
    const r = await importCsv({
      store,
      dir: sampleDrop(tmp.make(), (id) => !gone.includes(id), [extra]),
      district: D,
    });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    expect(r.counts.students).toMatchObject({ archived: 3, created: 1, unchanged: 33 });
    expect(r.accounts.deactivated).toBe(3);
    // The new student's key is held by a hand-made account: reported, not linked, not duplicated.
    expect(r.accounts.conflicts).toBe(1);
    expect(r.problems).toContainEqual(
      expect.objectContaining({ entity: 'students', recordId: 'S2000', field: 'sis_id', severity: 'error' }),
    );
    const accounts = await studentAccountsByRecord(store);
    for (const id of allStudentIds)
      expect(accounts.get(id)?.status, id).toBe(gone.includes(id) ? 'inactive' : 'active');
    expect(accounts.has('S2000')).toBe(false);
    for (const id of gone) {
      const rec = await store.records.get({ district: D, source: 'csv' }, 'students', id);
      expect(rec?.archivedAt).not.toBeNull();
    }
    await expectManualUntouched(store, manual);

    // The students come back: restored and reactivated (same accounts).
    const back = await importCsv({ store, dir: SAMPLE_DIR, district: D });
    expect(back.counts.students.restored).toBe(3);
    expect(back.accounts.reactivated).toBe(3);
    const after = await studentAccountsByRecord(store);
    for (const id of gone) expect(after.get(id)?.id).toBe(accounts.get(id)?.id);
    await expectManualUntouched(store, manual);
  });

  it('a drop missing most students is held by the safety valve with zero deactivations', async () => {
    const { store, manual } = await imported();
    const kept = allStudentIds.slice(0, 10);
    const before = await dumpDistrict(store, D);
    const r = await importCsv({ store, dir: sampleDrop(tmp.make(), (id) => kept.includes(id)), district: D });
    expect(r.status).toBe('held');
    // 36 active: the hand-made student account is never deactivated, so it is not counted.
    expect(r.reason).toBe(
      'held by the safety valve: students: would deactivate 26 of 36 active (72.2% > 5% and > 10)',
    );
    expect(r.accounts.deactivated).toBe(0);
    expect(r.accounts.held).toBe(26);
    expect(r.pending).toEqual({ students: 26 });
    expect(r.counts.students.archived).toBe(0);
    expect(await dumpDistrict(store, D)).toEqual(before);
    await expectManualUntouched(store, manual);

    // An operator who approves it gets exactly the 26 deactivations; the hand-made accounts stay.
    await approveRun(store, r.runId);
    const accounts = await studentAccountsByRecord(store);
    expect(
      [...accounts.values()]
        .filter((a) => a.status === 'inactive')
        .map((a) => a.recordSourceId)
        .sort(),
    ).toEqual(allStudentIds.filter((id) => !kept.includes(id)).sort());
    await expectManualUntouched(store, manual);
  });

  it('a students-only drop (no schools.csv) uses the stored schools and still applies in full', async () => {
    const { store, manual } = await imported();
    const dir = writeDrop(tmp.make(), {
      'students.csv': sample('students.csv').replace('"Liam","","Martinez"', '"Liam","","Martínez"'),
    });
    const r = await importCsv({ store, dir, district: D });
    expect(r.status, r.reason ?? '').toBe('succeeded');
    expect(r.problems).toEqual([]);
    expect(r.counts.students).toMatchObject({ updated: 1, unchanged: 35, skipped: 0 });
    expect(r.counts.schools).toMatchObject({ unchanged: 3, created: 0, archived: 0 });
    const s = await store.records.get({ district: D, source: 'csv' }, 'students', 'S1000');
    expect(s?.data.name.last).toBe('Martínez');
    await expectManualUntouched(store, manual);
  });
});
