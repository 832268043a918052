import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDistrictJob } from '../../src/jobs/run-district-job.js';
import { ServiceMetrics } from '../../src/jobs/service-metrics.js';
import { buildApp } from '../../src/server/app.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { LATEST_MIGRATION } from '../../src/store/migrator.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { startCli } from '../helpers/spawn-cli.js';
import { simConfig, syncSim, withSimulator } from '../helpers/sync.js';

describeEachDatabase('the service app', (dbs) => {
  let sim!: CleverSimulator;
  withSimulator({ seed: 5, students: 200 }, (started) => (sim = started));

  it('answers health, readiness and metrics, and is not ready while draining', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    const metrics = new ServiceMetrics();
    let draining = false;
    const app = await buildApp({ store, metrics, draining: () => draining });
    try {
      expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
      const ready = await app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'ready', migration: LATEST_MIGRATION });

      await store.districts.ensure('d1', 'd1');
      const r = await runDistrictJob(
        {
          store,
          config: simConfig(sim, { 'clever.token': sim.token }),
          logger: silentLogger(),
          secretBox: () => SecretBox.fromString(SecretBox.generateKey()),
          metrics,
        },
        { district: 'd1', origin: 'manual' },
      );
      expect(r.status).toBe('succeeded');
      metrics.setQueueDepth(() => 3);
      const m = await app.inject({ url: '/metrics' });
      expect(m.statusCode).toBe(200);
      expect(m.headers['content-type']).toMatch(/^text\/plain/);
      expect(m.body).toMatch(/^rostersync_runs_total\{status="succeeded"\} 1$/m);
      expect(m.body).toMatch(/^rostersync_run_duration_seconds_count\{status="succeeded"\} 1$/m);
      expect(m.body).toMatch(
        new RegExp(
          `^rostersync_records_total\\{entity="students",change="created"\\} ${sim.truth().students}$`,
          'm',
        ),
      );
      expect(m.body).toMatch(/^rostersync_accounts_changed_total\{change="provisioned"\} [1-9]\d*$/m);
      expect(m.body).toMatch(/^rostersync_clever_requests_total [1-9]\d*$/m);
      expect(m.body).toMatch(/^rostersync_clever_retries_total 0$/m);
      expect(m.body).toMatch(/^rostersync_queue_depth 3$/m);

      draining = true;
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('is not ready on a database whose migrations were not applied', async () => {
    const store = await Store.open({ location: await dbs.fresh(), migrate: false });
    const app = await buildApp({ store, metrics: new ServiceMetrics() });
    try {
      const r = await app.inject({ url: '/readyz' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ status: 'unavailable' });
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describeEachDatabase('rostersync serve', (dbs) => {
  let sim: CleverSimulator;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 11, students: 1200 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sim.close();
  });

  // Four processes started through tsx and a full sync over slowed pages: minutes on a busy machine.
  it('runs a requested district; SIGTERM mid-run leaves a run the next serve finishes', async () => {
    const district = 'd1';
    const reference = await Store.open({ location: await dbs.fresh() });
    const location = await dbs.fresh();
    const store = await Store.open({ location });
    const env = {
      ROSTERSYNC_CLEVER_URL: sim.url,
      ROSTERSYNC_CLEVER_TOKEN: sim.token,
      ROSTERSYNC_CLEVER_PAGE_SIZE: '25',
      ROSTERSYNC_SECRET_KEY: SecretBox.generateKey(),
    };
    try {
      expect((await syncSim(reference, sim, { district })).status).toBe('succeeded');
      await store.districts.ensure(district, district);

      const serve = await startCli(
        ['serve', '--port', '0', '--workers', '0', '--database', location],
        env,
        /url=(\S+)/,
      );
      children.push(serve.child);
      const url = serve.match[1]!;
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      // Slow pages, so that serve is surely mid-run when it is told to stop.
      sim.setFaults({ rate: 1, kinds: ['slow'], slowMs: 40 });
      const ask = await startCli(
        ['runs', 'start', '--district', district, '--database', location],
        {},
        /requested/,
      );
      expect(await ask.exited).toBe(0);
      for (let i = 0; i < 600; i++) {
        const cps = await store.checkpoints.list(district).catch(() => []);
        if (cps.some((c) => c.stream === 'users:student' && c.pages >= 3 && !c.complete)) break;
        await sleep(50);
      }
      expect(await serve.stop('SIGTERM')).toBe(0);
      const [stopped] = await store.runs.list({ district });
      expect(stopped?.status).toBe('failed');
      expect(stopped?.reason).toMatch(/^cancelled: /);
      expect((await store.records.count({ district }, 'students')) < sim.truth().students).toBe(true);
      // The request was not answered: it waits for the next serve.
      expect(await store.service.queuedRequests()).toHaveLength(1);
      expect(serve.output().err).not.toContain(sim.token);
      // Pages fetched ahead are dropped with the run, not retried after the process said it stopped.
      expect(serve.output().err.split('"msg":"stopped"')[1]).not.toMatch(/retrying/);

      sim.setFaults(null);
      const again = await startCli(
        ['serve', '--port', '0', '--workers', '0', '--database', location],
        env,
        /url=(\S+)/,
      );
      children.push(again.child);
      for (let i = 0; i < 1200; i++) {
        const [last] = await store.runs.list({ district });
        if (last && last.id !== stopped!.id && last.status !== 'running') break;
        await sleep(100);
      }
      const [last] = await store.runs.list({ district });
      expect(last?.status).toBe('succeeded');
      expect(await again.stop('SIGTERM')).toBe(0);
      expect(await dumpDistrict(store, district)).toEqual(await dumpDistrict(reference, district));
    } finally {
      sim.setFaults(null);
      await reference.close();
      await store.close();
    }
  }, 300_000);
});
