import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import type { SyncRun } from '../../src/model/run.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { startCli } from '../helpers/spawn-cli.js';
import { districtFiles, generateDistrict, runCli, tempFolders } from '../csv/fixtures.js';

const files = districtFiles(generateDistrict({ students: 200 }));

/** Waits until the district has `n` finished runs; returns them, newest first. */
async function finishedRuns(store: Store, district: string, n: number): Promise<SyncRun[]> {
  for (let i = 0; i < 600; i++) {
    const runs = await store.runs.list({ district });
    if (runs.filter((r) => r.status !== 'running').length >= n) return runs;
    await sleep(100);
  }
  throw new Error(`district ${district}: ${n} finished runs did not appear`);
}

describeEachDatabase('a CSV district under serve', (dbs) => {
  const tmp = tempFolders('rostersync-csv-serve-');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  const modes = dbs.kind === 'postgres' ? (['embedded', 'workers'] as const) : (['embedded'] as const);
  for (const mode of modes) {
    it(`imports each settled drop as a run and archives it; a bad drop changes nothing (${mode})`, async () => {
      const district = 'c1';
      const location = await dbs.fresh();
      const root = tmp.make();
      const added = await runCli([
        'districts',
        'add',
        district,
        '--csv-folder',
        root,
        '--database',
        location,
      ]);
      expect(added.stderr).toBe('');
      expect(added.stdout).toBe(`district ${district}: added\n`);
      const shown = await runCli(['districts', 'show', district, '--database', location]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: district, csvFolder: root });
      const listed = await runCli(['districts', 'list', '--database', location]);
      expect(listed.stdout).toContain(`csv ${root}`);

      // The settle time is long enough that a busy machine never sees one file of the pair settled alone.
      const env = { ROSTERSYNC_SERVICE_CSV_POLL_MS: '100', ROSTERSYNC_SERVICE_CSV_SETTLE_MS: '1500' };
      const serveArgs = ['serve', '--port', '0', '--database', location];
      if (mode === 'embedded') serveArgs.push('--workers', '0');
      const serve = await startCli(serveArgs, env, /url=(\S+)/);
      children.push(serve.child);
      if (mode === 'workers') {
        const worker = await startCli(['worker', '--database', location], env, /worker started/);
        children.push(worker.child);
      }
      const store = await Store.open({ location });
      try {
        // Nothing waits yet: a person's ask says so.
        const none = await runCli([
          'runs',
          'start',
          '--district',
          district,
          '--wait',
          '--database',
          location,
        ]);
        expect(none.stdout).toMatch(/district c1: skipped \(no CSV drop waiting in .*automated\)/);
        expect(await store.runs.list({ district })).toEqual([]);

        // serve made the folder's subfolders on its first look.
        for (let i = 0; i < 100 && !existsSync(join(root, 'automated')); i++) await sleep(50);
        writeFileSync(join(root, 'automated', 'schools.csv'), files['schools.csv']!);
        writeFileSync(join(root, 'automated', 'students.csv'), files['students.csv']!);
        const [first] = await finishedRuns(store, district, 1);
        expect(first!.status, first!.reason ?? '').toBe('succeeded');
        expect(first!.source).toBe('csv');
        expect(await store.records.count({ district }, 'students')).toBe(200);
        expect(readdirSync(join(root, 'automated'))).toEqual([]);
        expect(readdirSync(join(root, 'processing'))).toEqual([]);
        const [day] = readdirSync(join(root, 'archive'));
        const [batch] = readdirSync(join(root, 'archive', day!));
        expect(readdirSync(join(root, 'archive', day!, batch!)).sort()).toEqual([
          'result.json',
          'result.txt',
          'schools.csv',
          'students.csv',
        ]);

        const before = await dumpDistrict(store, district);
        writeFileSync(
          join(root, 'automated', 'students.csv'),
          files['students.csv']!.replace('"STU000004",', '"STU000004"x,'),
        );
        const [second] = await finishedRuns(store, district, 2);
        expect(second!.status).toBe('failed');
        expect(second!.reason).toMatch(/^input: students\.csv: line 6: /);
        expect(await dumpDistrict(store, district)).toEqual(before);
        expect(readdirSync(join(root, 'automated'))).toEqual([]);
        const results = readdirSync(join(root, 'archive', day!)).map(
          (b) => readFileSync(join(root, 'archive', day!, b, 'result.txt'), 'utf8').split('\n')[0],
        );
        expect(results.sort()).toEqual(['failed: ' + second!.reason!, 'succeeded'].sort());
        // No Clever sync was tried for it: only the two CSV runs exist.
        expect((await store.runs.list({ district })).map((r) => r.source)).toEqual(['csv', 'csv']);
      } finally {
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
        await serve.exited;
        await store.close();
      }
    });
  }
});
