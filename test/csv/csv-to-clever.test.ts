import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { Store } from '../../src/store/store.js';
import { exportCsv } from '../../src/sync/csv-export.js';
import { importCsv } from '../../src/sync/csv-import.js';
import { changedNothing } from '../../src/sync/run-report.js';
import { getStatus } from '../../src/sync/status.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim } from '../helpers/sync.js';
import { configureDistrict, tempFolders, toCsv, writeDrop } from './fixtures.js';

const D = 'pre-clever';

describeEachDatabase('a CSV district moving to Clever', (dbs) => {
  const tmp = tempFolders();
  let sim: CleverSimulator;
  let csvDir: string;
  /** Staff rows left out of the CSV: the simulator's people without a staff sis id (the district key). */
  let staffWithoutKey: number;
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 11, students: 300 });
    // The district's CSV files, built from the same people: a scratch Clever sync, exported.
    const scratch = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(scratch, sim)).status).toBe('succeeded');
      csvDir = tmp.make();
      await exportCsv(scratch, sim.districts[0]!.id, csvDir);
    } finally {
      await scratch.close();
    }
    const path = join(csvDir, 'school_staff.csv');
    const [header, ...rows] = parse(readFileSync(path, 'utf8'));
    const keyed = rows.filter((r) => r[header!.indexOf('staff_sis_id')] !== '');
    staffWithoutKey = rows.length - keyed.length;
    writeFileSync(path, toCsv(header!, keyed));
  });
  afterAll(async () => {
    await sim.close();
    tmp.cleanup();
  });

  it('keeps its accounts: linked, not duplicated; the CSV records are archived as superseded', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D);
      const csv = await importCsv({ store, dir: csvDir, district: D });
      expect(csv.status, csv.reason ?? '').toBe('succeeded');
      expect(csv.counts.students.created).toBe(300);
      const csvStaff = csv.counts.staff.created;
      expect(csvStaff).toBeGreaterThan(0);
      expect(staffWithoutKey).toBeGreaterThan(0);
      const before = await store.accounts.list({ district: D, limit: 5000 });
      expect(before.every((a) => a.recordSource === 'csv' && a.status === 'active')).toBe(true);

      const plan = await syncSim(store, sim, { district: D, mode: 'plan' });
      const clever = await syncSim(store, sim, { district: D });
      expect(clever.status, clever.reason ?? '').toBe('succeeded');
      // The plan saw exactly what the sync then did, take-overs and retirements included.
      expect(plan.counts).toEqual(clever.counts);
      expect(plan.accounts).toEqual(clever.accounts);
      // Every CSV-era person is linked; only the staff the CSV could not carry are new.
      expect(clever.accounts.linked).toBe(300 + csvStaff);
      expect(clever.accounts.provisioned).toBe(staffWithoutKey);
      expect(clever.accounts.conflicts).toBe(0);
      expect(clever.accounts.deactivated).toBe(0);

      const after = new Map(
        (await store.accounts.list({ district: D, limit: 5000 })).map((a): [string, StoredAccount] => [
          a.id,
          a,
        ]),
      );
      expect(after.size).toBe(before.length + staffWithoutKey);
      for (const a of before) {
        const now = after.get(a.id);
        expect(now?.status, a.id).toBe('active');
        expect(now?.recordSource).toBe('clever');
        expect(now?.identities.some((i) => i.type === 'clever_id')).toBe(true);
      }
      // The CSV records were superseded: archived, so nobody is counted twice.
      expect(await store.records.count({ district: D, source: 'csv' }, 'students')).toBe(0);
      expect(await store.records.count({ district: D, source: 'csv' }, 'staff')).toBe(0);
      expect(await store.records.count({ district: D, source: 'csv' }, 'students', { archived: true })).toBe(
        300,
      );
      const status = (await getStatus(store, { district: D })).districts[0]!;
      expect(status.cleverDistrictId).toBe(sim.districts[0]!.id);
      expect(status.totals.students).toBe(300);
      expect(status.totals.staff).toBe(csvStaff + staffWithoutKey);
      expect(status.accounts.student).toEqual({ active: 300, inactive: 0 });
      expect(status.accounts.staff).toEqual({ active: csvStaff + staffWithoutKey, inactive: 0 });

      // The next night's Clever sync is a no-op.
      const again = await syncSim(store, sim, { district: D });
      expect(again.status).toBe('succeeded');
      expect(changedNothing(again)).toBe(true);
      expect(again.accounts.linked + again.accounts.provisioned + again.accounts.deactivated).toBe(0);
    } finally {
      await store.close();
    }
  });

  // The first successful Clever sync retires what the CSV source left behind (its schools here),
  // through the safety valve like any archive.
  it('supersedes the CSV schools too (school total not doubled)', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D);
      expect((await importCsv({ store, dir: csvDir, district: D })).status).toBe('succeeded');
      expect((await syncSim(store, sim, { district: D })).status).toBe('succeeded');
      const totals = (await getStatus(store, { district: D })).districts[0]!.totals;
      expect(totals.schools).toBe(await store.records.count({ district: D, source: 'clever' }, 'schools'));
    } finally {
      await store.close();
    }
  });

  it('refuses a stray CSV drop after the move, changing nothing', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D);
      expect((await importCsv({ store, dir: csvDir, district: D })).status).toBe('succeeded');
      expect((await syncSim(store, sim, { district: D })).status).toBe('succeeded');
      const before = await dumpDistrict(store, D);
      const stray = await importCsv({ store, dir: csvDir, district: D });
      expect(stray.status).toBe('failed');
      expect(stray.reason).toMatch(/synced from Clever now; CSV roster drops are refused/);
      expect(await dumpDistrict(store, D)).toEqual(before);
      // staff_overrides.csv alone is still accepted, and applies to the Clever staff at once.
      const staffRows: string[][] = parse(readFileSync(join(csvDir, 'school_staff.csv'), 'utf8'));
      const sisCol = staffRows[0]!.indexOf('staff_sis_id');
      const sis = staffRows[1]![sisCol]!;
      const overrides = writeDrop(tmp.make(), {
        'staff_overrides.csv': `staff_sis_id,title\n${sis},Dean of Students\n`,
      });
      const o = await importCsv({ store, dir: overrides, district: D });
      expect(o.status, o.reason ?? '').toBe('succeeded');
      const dean = (await store.accounts.list({ district: D, kind: 'staff', limit: 5000 })).filter(
        (a) => a.title === 'Dean of Students',
      );
      expect(dean).toHaveLength(1);
      expect(dean[0]!.recordSource).toBe('clever');
      expect(dean[0]!.identities).toContainEqual({ type: 'sis_id', value: sis });
      // The accounts kept their email login identities.
      const withEmail = (await store.accounts.list({ district: D, limit: 5000 })).filter(
        (a) => a.email !== null,
      );
      expect(withEmail.length).toBeGreaterThan(0);
      expect(withEmail.filter((a) => a.identities.some((i) => i.type === 'email')).length).toBeGreaterThan(
        withEmail.length / 2,
      );
    } finally {
      await store.close();
    }
  });
});
