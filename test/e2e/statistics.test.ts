import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { capturedLogger } from '../helpers/log-capture.js';
import { simConfig } from '../helpers/sync.js';

/**
 * While tables grow from empty the sync refreshes planner statistics (PostgreSQL; a no-op on
 * SQLite). The refresh runs beside the sync rather than in its way, so these tests replace it with
 * a slow one that fails: the run must still wait for it, log it, and end with a complete store.
 */
describeEachDatabase('planner statistics refreshes', (dbs) => {
  let sim: CleverSimulator;
  beforeAll(async () => {
    // More than 4,000 students: the first refresh comes once a run has written 4,000 rows of an entity.
    sim = await startCleverSimulator({ seed: 23, students: 4200 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('a refresh that fails is logged, the run waits for it and still succeeds with everything stored', async () => {
    const log = capturedLogger('warn');
    const store = await Store.open({ location: await dbs.fresh() });
    const asked: string[][] = [];
    let ended = 0;
    store.analyze = async (tables) => {
      asked.push([...tables]);
      await new Promise((r) => setTimeout(r, 300));
      ended++;
      throw new Error('statistics are unavailable');
    };
    try {
      const report = await syncFromClever({
        store,
        config: simConfig(sim),
        logger: log.logger,
        token: sim.token,
        retryBaseMs: 5,
      });
      expect(report.status).toBe('succeeded');
      expect(asked).toContainEqual(['students', 'accounts']);
      // Once per entity: at 4,000 rows, not again with every page after it.
      expect(new Set(asked.map((t) => t.join())).size).toBe(asked.length);
      // Every refresh had ended (and failed) before the run reported.
      expect(ended).toBe(asked.length);
      const warnings = log
        .text()
        .split('\n')
        .filter((l) => l.includes('refreshing planner statistics failed'));
      expect(warnings).toHaveLength(asked.length);
      expect(warnings[0]).toContain('statistics are unavailable');
      const truth = sim.truth();
      expect(report.counts.students.created).toBe(truth.students);
      expect(report.accounts.provisioned).toBe(truth.students + truth.staffPeople);
      expect(await store.records.count({ district: report.district!, source: 'clever' }, 'students')).toBe(
        truth.students,
      );
    } finally {
      await store.close();
    }
  });

  it('a run that changes thousands of stored rows but adds few asks for no refresh', async () => {
    const own = await startCleverSimulator({ seed: 29, students: 4700 });
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const sync = () =>
        syncFromClever({
          store,
          config: simConfig(own),
          logger: createLogger('silent'),
          token: own.token,
          retryBaseMs: 5,
        });
      const first = await sync();
      expect(first.status).toBe('succeeded');
      // The rollover's graduates would hold the run; this test is about its updates.
      const row = (await store.districts.get(first.district!))!;
      await store.districts.setConfig(first.district!, {
        ...row.config,
        safetyValve: { maxPercent: 100, minCount: 1_000_000 },
      });
      own.advance(1, 'rollover');
      const asked: string[][] = [];
      store.analyze = (tables) => {
        asked.push([...tables]);
        return Promise.resolve();
      };
      const report = await sync();
      expect(report.status).toBe('succeeded');
      // Every student moves up a grade: thousands of rows updated, a few hundred added.
      expect(report.counts.students.updated).toBeGreaterThan(4000);
      expect(report.counts.students.created).toBeLessThan(4000);
      expect(asked).toEqual([]);
    } finally {
      await store.close();
      await own.close();
    }
  });

  // PostgreSQL only (SQLite keeps no statistics the sync refreshes).
  if (dbs.kind === 'postgres')
    it('on PostgreSQL the tables a first sync filled have statistics when it ends', async () => {
      const location = await dbs.fresh();
      const store = await Store.open({ location });
      try {
        expect(
          (
            await syncFromClever({
              store,
              config: simConfig(sim),
              logger: createLogger('silent'),
              token: sim.token,
              retryBaseMs: 5,
            })
          ).status,
        ).toBe('succeeded');
      } finally {
        await store.close();
      }
      const client = new pg.Client({ connectionString: location });
      await client.connect();
      try {
        const { rows } = await client.query<{ relname: string; analyzed: boolean }>(
          `select relname, last_analyze is not null as analyzed from pg_stat_user_tables
          where relname in ('students', 'accounts', 'contacts') order by relname`,
        );
        expect(rows).toEqual([
          { relname: 'accounts', analyzed: true },
          { relname: 'contacts', analyzed: true },
          { relname: 'students', analyzed: true },
        ]);
      } finally {
        await client.end();
      }
    });
});
