import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim } from '../helpers/sync.js';

describeEachDatabase('a sync killed halfway', (dbs) => {
  let sim: CleverSimulator;
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 11, students: 1200 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('is finished by the next sync, ending in the same store as an uninterrupted sync', async () => {
    const district = sim.districts[0]!.id;
    const reference = await Store.open({ location: await dbs.fresh() });
    const crashedLocation = await dbs.fresh();
    const crashed = await Store.open({ location: crashedLocation });
    try {
      expect((await syncSim(reference, sim)).status).toBe('succeeded');

      // Slow the simulator down so the child is surely mid-walk when it is killed.
      sim.setFaults({ rate: 1, kinds: ['slow'], slowMs: 40 });
      const child = spawn(
        process.execPath,
        [
          'bin/rostersync.js',
          'sync',
          '--clever-url',
          sim.url,
          '--clever-token',
          sim.token,
          '--database',
          crashedLocation,
          '--page-size',
          '25',
          '--json',
          '--no-progress',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0' },
        },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Kill it (SIGKILL: no cleanup at all) once some student pages have committed.
      for (let i = 0; i < 600; i++) {
        const cps = await crashed.checkpoints.list(district).catch(() => []);
        if (cps.some((c) => c.stream === 'users:student' && c.pages >= 4 && !c.complete)) break;
        await sleep(50);
      }
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
      sim.setFaults(null);

      const [interrupted] = await crashed.runs.list({ district });
      expect(interrupted?.status).toBe('running');
      expect((await crashed.records.count({ district }, 'students')) < sim.truth().students).toBe(true);

      const report = await syncSim(crashed, sim);
      expect(report.status).toBe('succeeded');
      expect((await crashed.runs.get(interrupted!.id))?.status).toBe('failed');
      expect((await crashed.runs.get(interrupted!.id))?.reason).toMatch(/interrupted/);
      expect(await dumpDistrict(crashed, district)).toEqual(await dumpDistrict(reference, district));
    } finally {
      sim.setFaults(null);
      await reference.close();
      await crashed.close();
    }
  });
});
