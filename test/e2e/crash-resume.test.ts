import { expect, it } from 'vitest';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { killSyncWhen } from '../helpers/spawn-cli.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim, withSimulator } from '../helpers/sync.js';

describeEachDatabase('a sync killed halfway', (dbs) => {
  let sim!: CleverSimulator;
  withSimulator({ seed: 11, students: 1200 }, (started) => (sim = started));

  it('is finished by the next sync, ending in the same store as an uninterrupted sync', async () => {
    const district = sim.districts[0]!.id;
    const reference = await Store.open({ location: await dbs.fresh() });
    const crashedLocation = await dbs.fresh();
    const crashed = await Store.open({ location: crashedLocation });
    try {
      expect((await syncSim(reference, sim)).status).toBe('succeeded');

      // Slow the simulator down so the child is surely mid-walk when it is killed.
      sim.setFaults({ rate: 1, kinds: ['slow'], slowMs: 40 });
      // Kill it (SIGKILL: no cleanup at all) once some student pages have committed.
      const killed = await killSyncWhen(
        crashed,
        district,
        [
          '--clever-url',
          sim.url,
          '--clever-token',
          sim.token,
          '--database',
          crashedLocation,
          '--page-size',
          '25',
        ],
        (cps) => cps.some((c) => c.stream === 'users:student' && c.pages >= 4 && !c.complete),
      );
      expect(killed).toBeNull();
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
