import { readFileSync, existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverDistricts } from '../../src/jobs/discover.js';
import { runDistrictJob } from '../../src/jobs/run-district-job.js';
import type { DistrictJobDeps } from '../../src/jobs/run-district-job.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { capturedLogger } from '../helpers/log-capture.js';
import { simConfig } from '../helpers/sync.js';

/** Everything the database holds for districts, as text (file bytes for SQLite, rows for PostgreSQL). */
async function storedText(location: string): Promise<string> {
  if (!location.startsWith('postgres')) {
    return ['', '-wal']
      .map((s) => (existsSync(location + s) ? readFileSync(location + s).toString('latin1') : ''))
      .join('');
  }
  const c = new pg.Client({ connectionString: location });
  await c.connect();
  try {
    const r = await c.query<{ t: string }>('select string_agg(d::text, chr(10)) as t from districts d');
    return r.rows[0]?.t ?? '';
  } finally {
    await c.end();
  }
}

describeEachDatabase('Clever app credentials', (dbs) => {
  let sim: CleverSimulator;
  const box = SecretBox.fromString(SecretBox.generateKey());
  beforeAll(async () => {
    sim = await startCleverSimulator({
      seed: 21,
      districts: 3,
      students: 60,
      clientId: 'app-id',
      clientSecret: 'app-secret',
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('discovers every district once, runs each with its current token, and never shows a token', async () => {
    const location = await dbs.fresh();
    const store = await Store.open({ location });
    const log = capturedLogger('debug');
    const config = simConfig(sim, { 'clever.clientId': 'app-id', 'clever.clientSecret': 'app-secret' });
    const deps: DistrictJobDeps = { store, config, logger: log.logger, secretBox: () => box };
    try {
      const first = await discoverDistricts(store, config, () => box);
      expect(
        first
          .filter((d) => d.added)
          .map((d) => d.id)
          .sort(),
      ).toEqual(sim.districts.map((d) => d.id).sort());
      const again = await discoverDistricts(store, config, () => box);
      expect(again.filter((d) => d.added)).toEqual([]);
      expect((await store.districts.list()).map((d) => d.id).sort()).toEqual(
        sim.districts.map((d) => d.id).sort(),
      );

      const askedAt = store.clock().toISOString();
      for (const d of sim.districts) {
        const r = await runDistrictJob(deps, { district: d.id, origin: 'schedule', askedAt });
        expect(r.status).toBe('succeeded');
        expect(await store.records.count({ district: d.id }, 'students')).toBe(
          sim.truth(sim.districts.indexOf(d)).students,
        );
      }
      // A queue's redelivery of a job asked for before a run that has since succeeded runs nothing;
      // a job asked for after it runs.
      const d0 = sim.districts[0]!.id;
      const redelivered = await runDistrictJob(deps, { district: d0, origin: 'schedule', askedAt });
      expect(redelivered).toMatchObject({ status: 'skipped', transient: false });
      expect(redelivered.reason).toMatch(/^already run: /);
      expect((await store.runs.list({ district: d0 })).filter((r) => r.status === 'succeeded')).toHaveLength(
        1,
      );
      const later = await runDistrictJob(deps, {
        district: d0,
        origin: 'schedule',
        askedAt: store.clock().toISOString(),
      });
      expect(later.status).toBe('succeeded');

      // A district Clever no longer lists a token for needs attention and is not retried by the schedule.
      await store.districts.ensure('gone', 'gone', 'no-such-clever-district');
      const revoked = await runDistrictJob(deps, { district: 'gone', origin: 'schedule' });
      expect(revoked).toMatchObject({ status: 'skipped', transient: false });
      expect(revoked.reason).toMatch(/^auth: /);
      expect((await store.service.get('gone'))?.attention).toMatch(/no longer authorises/);
      const skipped = await runDistrictJob(deps, { district: 'gone', origin: 'schedule' });
      expect(skipped.reason).toMatch(/^needs attention: /);

      // Wrong app credentials: not the district's fault, nothing marked.
      const wrongApp = await runDistrictJob(
        { ...deps, config: simConfig(sim, { 'clever.clientId': 'app-id', 'clever.clientSecret': 'nope' }) },
        { district: sim.districts[0]!.id, origin: 'schedule' },
      );
      expect(wrongApp.reason).toMatch(/^auth: .*client id and secret were rejected/);
      expect((await store.service.get(sim.districts[0]!.id))?.attention ?? null).toBeNull();

      const text = log.text() + (await storedText(location));
      expect(text).toContain(sim.districts[0]!.id); // the scan does see the stored districts
      for (const d of sim.districts) expect(text).not.toContain(d.token);
      expect(text).not.toContain('app-secret');
    } finally {
      await store.close();
    }
  });

  it('a token Clever rejects marks the district; only a person or a settings change lets it run again', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    const config = simConfig(sim);
    const deps: DistrictJobDeps = {
      store,
      config,
      logger: capturedLogger('info').logger,
      secretBox: () => box,
    };
    const district = sim.districts[1]!.id;
    try {
      await store.districts.ensure(district, district);
      await store.districts.setToken(district, 'revoked-token', box);
      const failed = await runDistrictJob(deps, { district, origin: 'schedule' });
      expect(failed).toMatchObject({ status: 'failed', transient: false });
      expect((await store.service.get(district))?.attention).toMatch(/^auth: /);
      const runs = (await store.runs.list({ district })).length;

      // The schedule does not retry it...
      expect((await runDistrictJob(deps, { district, origin: 'schedule' })).reason).toMatch(
        /^needs attention/,
      );
      expect((await store.runs.list({ district })).length).toBe(runs);
      // ...a person asking does (and the mark comes back, the token being still wrong)...
      expect((await runDistrictJob(deps, { district, origin: 'manual' })).status).toBe('failed');
      expect((await store.service.get(district))?.attention).toMatch(/^auth: /);
      // ...and so does a settings change (here: a new token, as `districts set-token` stores it).
      await store.districts.setToken(district, sim.districts[1]!.token, box);
      await store.service.clearAttention(district);
      expect((await runDistrictJob(deps, { district, origin: 'schedule' })).status).toBe('succeeded');
    } finally {
      await store.close();
    }
  });
});
