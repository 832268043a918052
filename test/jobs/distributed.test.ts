import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { discoverDistricts } from '../../src/jobs/discover.js';
import { DistributedRunner, openBoss } from '../../src/jobs/distributed-runner.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { postgresAvailable } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { simConfig, syncSim } from '../helpers/sync.js';

const DISTRICTS = 30;

async function createDb(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = inject('pg').url;
  const name = `rs_test_${randomBytes(6).toString('hex')}`;
  const run = async (q: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await run(`create database ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

describe.skipIf(!postgresAvailable())('distributed workers on pg-boss [postgres]', () => {
  let sim: CleverSimulator;
  const drops: Array<() => Promise<void>> = [];
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    sim = await startCleverSimulator({
      seed: 31,
      districts: DISTRICTS,
      students: 60,
      clientId: 'fleet-app',
      clientSecret: 'fleet-secret',
    });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await sim.close();
    for (const d of drops) await d();
  });

  it('3 workers sync 30 districts exactly once per tick; a SIGKILLed worker’s job is finished elsewhere', async () => {
    const db = await createDb();
    drops.push(db.drop);
    const key = SecretBox.generateKey();
    const box = SecretBox.fromString(key);
    const config = simConfig(sim, { 'clever.clientId': 'fleet-app', 'clever.clientSecret': 'fleet-secret' });
    const store = await Store.open({ location: db.url });
    const boss = await openBoss({
      url: db.url,
      logger: silentLogger(),
      expireInSeconds: 20,
      retryDelaySeconds: 1,
    });
    try {
      const found = await discoverDistricts(store, config, () => box);
      expect(found.filter((f) => f.added)).toHaveLength(DISTRICTS);

      // Slow pages, so that runs are surely in progress when a worker is killed.
      sim.setFaults({ rate: 1, kinds: ['slow'], slowMs: 30 });
      const env = {
        ...process.env,
        ROSTERSYNC_LOG_LEVEL: 'silent',
        ROSTERSYNC_HEAP_MB: '0',
        ROSTERSYNC_SECRET_KEY: key,
        ROSTERSYNC_CLEVER_URL: sim.url,
        ROSTERSYNC_CLEVER_CLIENT_ID: 'fleet-app',
        ROSTERSYNC_CLEVER_CLIENT_SECRET: 'fleet-secret',
        ROSTERSYNC_CLEVER_PAGE_SIZE: '20',
        ROSTERSYNC_SERVICE_JOB_EXPIRE_SECONDS: '20',
        ROSTERSYNC_SERVICE_RETRY_DELAY_SECONDS: '1',
      };
      // The two workers that survive serve their own probes and metrics.
      const probes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const w = spawn(
          process.execPath,
          [
            'bin/rostersync.js',
            'worker',
            '--database',
            db.url,
            '--concurrency',
            '2',
            ...(i > 0 ? ['--port', '0'] : []),
          ],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
            env,
          },
        );
        workers.push(w);
        let out = '';
        w.stdout.on('data', (b: Buffer) => (out += b.toString()));
        for (let t = 0; t < 600 && !out.includes('worker started'); t++) await sleep(50);
        expect(out).toContain('worker started');
        const url = /url=(\S+)/.exec(out)?.[1];
        if (i > 0) probes.push(url!);
        else expect(url).toBeUndefined();
      }
      for (const url of probes) {
        expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
      }

      // One tick: every district asked for twice (the second ask joins the queued job).
      const runner = new DistributedRunner(boss, store);
      for (const d of found) await runner.enqueue({ district: d.id, origin: 'schedule' });
      for (const d of found) await runner.enqueue({ district: d.id, origin: 'schedule' });

      // SIGKILL the first worker while it holds a district.
      const victim = workers[0]!;
      let killed: string | null = null;
      for (let t = 0; t < 1200 && killed === null; t++) {
        for (const d of found) {
          const h = await store.locks.holder(d.id);
          if (h?.owner.endsWith(`:${victim.pid}`)) {
            const cps = await store.checkpoints.list(d.id);
            if (cps.some((c) => c.pages >= 1)) {
              killed = d.id;
              break;
            }
          }
        }
        if (killed === null) await sleep(50);
      }
      expect(killed).not.toBeNull();
      victim.kill('SIGKILL');
      // The victim runs two districts at once: every district it held was interrupted.
      const interrupted = new Set<string>();
      for (const d of found) {
        if ((await store.locks.holder(d.id))?.owner.endsWith(`:${victim.pid}`)) interrupted.add(d.id);
      }
      expect(interrupted.has(killed!)).toBe(true);

      // Everything ends: one succeeded run per district.
      const done = async () => {
        let n = 0;
        for (const d of found)
          if ((await store.runs.list({ district: d.id })).some((r) => r.status === 'succeeded')) n++;
        return n;
      };
      for (let t = 0; t < 1800 && (await done()) < DISTRICTS; t++) await sleep(200);
      expect(await done()).toBe(DISTRICTS);
      await sleep(3000); // nothing more may start after the tick's runs

      for (const [i, d] of found.entries()) {
        const runs = await store.runs.list({ district: d.id });
        expect(
          runs.filter((r) => r.status === 'succeeded'),
          d.id,
        ).toHaveLength(1);
        if (interrupted.has(d.id)) {
          expect(runs.some((r) => r.status === 'failed' && /interrupted/.test(r.reason ?? ''))).toBe(true);
        } else {
          expect(runs, d.id).toHaveLength(1);
        }
        const idx = sim.districts.findIndex((x) => x.id === d.id);
        expect(await store.records.count({ district: d.id }, 'students'), `${i}`).toBe(
          sim.truth(idx).students,
        );
      }

      // The interrupted district ends exactly as a clean full sync would.
      sim.setFaults(null);
      const refDb = await createDb();
      drops.push(refDb.drop);
      const reference = await Store.open({ location: refDb.url });
      try {
        const idx = sim.districts.findIndex((x) => x.id === killed);
        await syncSim(reference, sim, { token: sim.districts[idx]!.token, district: killed! });
        expect(await dumpDistrict(store, killed!)).toEqual(await dumpDistrict(reference, killed!));
      } finally {
        await reference.close();
      }

      // The interrupted districts were finished by the survivors, and their metrics say so.
      const metric = (text: string, name: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      let succeeded = 0;
      for (const url of probes) {
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(metric(text, 'rostersync_runs_in_progress')).toBe(0);
        expect(metric(text, 'rostersync_clever_requests_total')).toBeGreaterThan(0);
        succeeded += metric(text, 'rostersync_runs_total{status="succeeded"}');
      }
      expect(succeeded).toBeGreaterThanOrEqual(interrupted.size);
      expect(succeeded).toBeLessThanOrEqual(DISTRICTS);

      for (const w of workers.slice(1)) w.kill('SIGTERM');
      for (const w of workers.slice(1))
        expect(await new Promise((r) => (w.exitCode !== null ? r(w.exitCode) : w.on('exit', r)))).toBe(0);
    } finally {
      sim.setFaults(null);
      await boss.stop({ graceful: false, wait: true });
      await store.close();
    }
  });
});
