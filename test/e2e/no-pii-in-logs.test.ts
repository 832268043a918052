import { expect, it } from 'vitest';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { capturedLogger } from '../helpers/log-capture.js';
import { simConfig, withSimulator } from '../helpers/sync.js';

/** Everything a sync logs, at the most verbose level, while things go wrong in every way we can make them. */
describeEachDatabase('logs carry no student data and no tokens', (dbs) => {
  let sim!: CleverSimulator;
  withSimulator({ seed: 17, students: 400 }, (started) => (sim = started));

  it('a sync with faults, a change day and a bad token logs ids and reasons only', async () => {
    const captured = capturedLogger('trace');
    const logger = captured.logger;
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const config = simConfig(sim);
      sim.setFaults({ rate: 0.3, kinds: ['500', '503', '429', 'reset', 'truncated'], seed: 5 });
      expect((await syncFromClever({ store, config, logger, token: sim.token, retryBaseMs: 5 })).status).toBe(
        'succeeded',
      );
      sim.setFaults(null);
      sim.advance(1);
      expect((await syncFromClever({ store, config, logger, token: sim.token, retryBaseMs: 5 })).status).toBe(
        'succeeded',
      );
      await syncFromClever({ store, config, logger, token: 'a-revoked-token-value', retryBaseMs: 5 });
      const out = captured.text();
      expect(out.length).toBeGreaterThan(0);
      expect(out).toMatch(/retrying/);

      const district = sim.districts[0]!.id;
      const secrets = new Set<string>([sim.token, 'a-revoked-token-value']);
      for (const entity of ['students', 'staff', 'contacts'] as const) {
        for (const r of await store.records.list({ district }, entity, { active: false, limit: 10_000 })) {
          const d = r.data as { name: { first?: string; last?: string }; email?: string; dob?: string };
          for (const v of [d.name.first, d.name.last, d.email, d.dob]) if (v && v.length >= 4) secrets.add(v);
        }
      }
      expect(secrets.size).toBeGreaterThan(500);
      const leaked = [...secrets].filter((s) => out.includes(s));
      expect(leaked).toEqual([]);
    } finally {
      sim.setFaults(null);
      await store.close();
    }
  });
});
