import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { importCsv } from '../../src/sync/csv-import.js';
import { DropFolder } from '../../src/sync/drop-folder.js';
import type { ProcessedDrop } from '../../src/sync/drop-folder.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { configureDistrict, districtFiles, generateDistrict, tempFolders } from './fixtures.js';

const D = 'district';
const files = districtFiles(generateDistrict({ students: 200 }));

describeEachDatabase('watch-csv drop folder', (dbs) => {
  const tmp = tempFolders();
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    tmp.cleanup();
  });

  async function setup(opts: { district?: string } = { district: D }) {
    const store = await Store.open({ location: await dbs.fresh() });
    stores.push(store);
    await configureDistrict(store, D);
    const root = tmp.make();
    const clock = { now: Date.parse('2026-03-05T23:59:30.000Z') };
    const folder = new DropFolder({
      root,
      store,
      settleMs: 1000,
      now: () => new Date(clock.now),
      ...(opts.district ? { district: opts.district } : {}),
    });
    await folder.init();
    const put = (name: string, body: string) => writeFileSync(join(root, 'automated', name), body);
    return { store, root, clock, folder, put };
  }

  /** The files of an archived batch (name → content). */
  function archived(drop: ProcessedDrop): Record<string, string> {
    return Object.fromEntries(
      readdirSync(drop.folder).map((f) => [f, readFileSync(join(drop.folder, f), 'utf8')]),
    );
  }

  it('waits while a file grows; once it has settled, imports it and archives it by date with its result', async () => {
    const { store, root, clock, folder, put } = await setup();
    for (const d of ['automated', 'other', 'processing', 'archive'])
      expect(existsSync(join(root, d))).toBe(true);
    writeFileSync(
      join(root, 'other', 'feeder_pattern.csv'),
      'from_school_id,to_school_id,grade_list\n001,002,5\n',
    );

    const students = files['students.csv']!;
    put('schools.csv', files['schools.csv']!);
    put('students.csv', students.slice(0, 5000)); // the upload has begun
    expect(await folder.tick()).toBeNull(); // first sight
    appendFileSync(join(root, 'automated', 'students.csv'), students.slice(5000, 9000));
    clock.now += 5_000;
    expect(await folder.tick()).toBeNull(); // grew since the last look: wait
    appendFileSync(join(root, 'automated', 'students.csv'), students.slice(9000));
    clock.now += 300;
    expect(await folder.tick()).toBeNull(); // grew again
    clock.now += 500;
    expect(await folder.tick()).toBeNull(); // unchanged for 0.5 s < settleMs (1 s)
    expect(await store.records.count({ district: D }, 'students')).toBe(0);
    clock.now += 600;
    const drop = await folder.tick();

    expect(drop).not.toBeNull();
    expect(drop!.report.status, drop!.report.reason ?? '').toBe('succeeded');
    expect(drop!.report.counts.students.created).toBe(200);
    expect(drop!.files.sort()).toEqual(['schools.csv', 'students.csv']);
    expect(drop!.folder).toBe(join(root, 'archive', '2026-03-05', '23-59-36-400Z'));
    const out = archived(drop!);
    expect(Object.keys(out).sort()).toEqual(['result.json', 'result.txt', 'schools.csv', 'students.csv']);
    expect(out['students.csv']).toBe(students);
    expect(JSON.parse(out['result.json']!)).toMatchObject({ runId: drop!.report.runId, status: 'succeeded' });
    expect(out['result.txt']).toBe(`succeeded\nrun ${drop!.report.runId}\nproblems: 0\n`);
    expect(readdirSync(join(root, 'automated'))).toEqual([]);
    expect(readdirSync(join(root, 'processing'))).toEqual([]);
    // other/ waits for review: never touched.
    expect(readdirSync(join(root, 'other'))).toEqual(['feeder_pattern.csv']);
    expect(await folder.tick()).toBeNull();
    expect(await store.records.count({ district: D }, 'students')).toBe(200);
  });

  it('archives a rejected drop with its failure result, changing nothing', async () => {
    const { store, clock, folder, put } = await setup();
    const before = await dumpDistrict(store, D);
    put('students.csv', files['students.csv']!.replace('"STU000004",', '"STU000004"x,'));
    expect(await folder.tick()).toBeNull();
    clock.now += 1_000;
    const drop = await folder.tick();
    expect(drop?.report.status).toBe('failed');
    const out = archived(drop!);
    expect(Object.keys(out).sort()).toEqual(['result.json', 'result.txt', 'students.csv']);
    const reason =
      'input: students.csv: line 6: a quoted field is followed by more text before the separator (stray ")';
    expect(JSON.parse(out['result.json']!)).toMatchObject({ status: 'failed', reason });
    expect(out['result.txt']!.split('\n')[0]).toBe(`failed: ${reason}`);
    expect(await dumpDistrict(store, D)).toEqual(before);
  });

  it('archives a batch that could not start (which district?) with the reason, instead of leaving it in processing/', async () => {
    const { store, root, clock, folder, put } = await setup({});
    await store.districts.ensure('another', 'Another district');
    put('schools.csv', files['schools.csv']!);
    expect(await folder.tick()).toBeNull();
    clock.now += 1_000;
    await expect(folder.tick()).rejects.toThrow(/--district is required: the store holds 2 districts/);
    expect(readdirSync(join(root, 'processing'))).toEqual([]);
    const [day] = readdirSync(join(root, 'archive'));
    const [batch] = readdirSync(join(root, 'archive', day!));
    const dir = join(root, 'archive', day!, batch!);
    expect(readdirSync(dir).sort()).toEqual(['result.json', 'result.txt', 'schools.csv']);
    expect(readFileSync(join(dir, 'result.txt'), 'utf8')).toMatch(/^failed: config: --district is required/);
  });

  it('an import stopped by shutdown puts its drop back in automated/; the next look imports it in full', async () => {
    const { store, root, clock, folder, put } = await setup();
    const reference = await Store.open({ location: await dbs.fresh() });
    stores.push(reference);
    await configureDistrict(reference, D);
    const ref = tmp.make();
    for (const name of ['schools.csv', 'students.csv', 'school_staff.csv']) {
      put(name, files[name]!);
      writeFileSync(join(ref, name), files[name]!);
    }
    await importCsv({ store: reference, dir: ref, district: D });

    // Shutdown arrives once the run has read its first pages: a signal that turns aborted then.
    let looks = 0;
    const stopping = new AbortController();
    const signal = new Proxy(stopping.signal, {
      get: (target, prop) => {
        if (prop === 'aborted') return ++looks > 3;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    expect(await folder.tick(signal)).toBeNull();
    clock.now += 1_000;
    const stopped = await folder.tick(signal);
    expect(stopped?.interrupted).toBe(true);
    expect(stopped?.report.status).toBe('failed');
    expect(stopped?.report.reason).toMatch(/^cancelled: /);
    expect(stopped?.folder).toBe(join(root, 'automated'));
    expect(readdirSync(join(root, 'automated')).sort()).toEqual([
      'school_staff.csv',
      'schools.csv',
      'students.csv',
    ]);
    expect(readdirSync(join(root, 'processing'))).toEqual([]);
    expect(readdirSync(join(root, 'archive'))).toEqual([]);

    // The drop is seen again, settles, and is imported.
    expect(await folder.tick()).toBeNull();
    clock.now += 1_000;
    const again = await folder.tick();
    expect(again?.interrupted).toBe(false);
    expect(again?.report.status, again?.report.reason ?? '').toBe('succeeded');
    expect(readdirSync(join(root, 'automated'))).toEqual([]);
    expect(await dumpDistrict(store, D)).toEqual(await dumpDistrict(reference, D));
  });

  it('run() polls until stopped and reports each drop', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    stores.push(store);
    await configureDistrict(store, D);
    const root = tmp.make();
    const folder = new DropFolder({ root, store, district: D, settleMs: 0 });
    const stop = new AbortController();
    const drops: ProcessedDrop[] = [];
    const done = folder.run(stop.signal, 5, (d) => {
      drops.push(d);
      stop.abort();
    });
    // run() creates the folders before its first look.
    while (!existsSync(join(root, 'automated'))) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(join(root, 'automated', 'schools.csv'), files['schools.csv']!);
    await done;
    expect(drops).toHaveLength(1);
    expect(drops[0]!.report).toMatchObject({ status: 'succeeded', counts: { schools: { created: 3 } } });
  });
});
