import { hostname } from 'node:os';
import { afterAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { importCsv } from '../../src/sync/csv-import.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { configureDistrict, SAMPLE_CONFIG, SAMPLE_DIR, tempFolders, writeDrop } from './fixtures.js';

const D = 'springfield';

describeEachDatabase('staff_overrides.csv and the district lock', (dbs) => {
  const tmp = tempFolders();
  afterAll(() => tmp.cleanup());

  it('new overrides take effect only when the run gets the district', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D, SAMPLE_CONFIG);
      expect((await importCsv({ store, dir: SAMPLE_DIR, district: D })).status).toBe('succeeded');
      const before = await store.overrides.list(D);
      expect(before).toHaveLength(1);

      // Another live run (this very process) holds the district.
      expect(await store.locks.acquire(D, 'someone-else', `${hostname()}:${process.pid}`, 600_000)).toBe(
        true,
      );
      const drop = writeDrop(tmp.make(), {
        'staff_overrides.csv': 'staff_sis_id,title\nSIS-T1,Head of Department\n',
      });
      const blocked = await importCsv({ store, dir: drop, district: D });
      expect(blocked.status).toBe('failed');
      expect(blocked.reason).toMatch(/being synced by run someone-else/);
      expect(await store.overrides.list(D)).toEqual(before);

      await store.locks.release(D, 'someone-else');
      const ok = await importCsv({ store, dir: drop, district: D });
      expect(ok.status, ok.reason ?? '').toBe('succeeded');
      const after = await store.overrides.list(D);
      expect(after).toMatchObject([
        { keyType: 'sis_id', keyValue: 'SIS-T1', fields: { title: 'Head of Department' } },
      ]);
      const staff = await store.accounts.list({ district: D, kind: 'staff', limit: 100 });
      expect(staff.find((a) => a.title === 'Head of Department')?.identities).toContainEqual({
        type: 'sis_id',
        value: 'SIS-T1',
      });
    } finally {
      await store.close();
    }
  });

  it('an overrides-only drop re-derives staff inside the run: the stored run counts what it prints', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await configureDistrict(store, D, SAMPLE_CONFIG);
      expect((await importCsv({ store, dir: SAMPLE_DIR, district: D })).status).toBe('succeeded');
      const seq = await store.changeFeed.lastSeq();
      const drop = writeDrop(tmp.make(), {
        // The unknown column is a warning of the file, which belongs to the run like any problem.
        'staff_overrides.csv': 'staff_sis_id,title,nickname\nSIS-T1,Head of Department,Ted\n',
      });
      const report = await importCsv({ store, dir: drop, district: D });
      expect(report.status, report.reason ?? '').toBe('succeeded');
      expect(report.accounts.updated).toBeGreaterThan(0);
      expect(report.problemCount).toBeGreaterThan(0);

      const stored = (await store.runs.get(report.runId))!;
      expect(stored.counts.accounts).toEqual(report.accounts);
      expect(stored.problemCount).toBe(report.problemCount);
      expect(await store.runs.problems(report.runId)).toEqual(report.problems);
      // The re-derived accounts' changes belong to the run, and it released the lock only after them.
      const changes = await store.changeFeed.after(seq, { district: D });
      expect(changes.length).toBeGreaterThan(0);
      expect(changes.every((c) => c.runId === report.runId)).toBe(true);
      expect(await store.locks.holder(D)).toBeFalsy();
    } finally {
      await store.close();
    }
  });
});
