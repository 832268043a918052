/**
 * `npm run bench:fleet -- --districts 200 --workers 1,4 [--students 100] [--latency 50] [--concurrency 1]
 *   [--database postgres://…]`
 *
 * The distributed service end to end: a simulator serving N districts (each `--students`, every
 * page delayed by `--latency` ms), discovered through the app's credentials into a fresh PostgreSQL
 * database, then one tick (every district enqueued once through pg-boss, as `serve` does) consumed
 * by W `rostersync worker` processes, for each W in `--workers`. Prints one JSON object per W:
 *   {workers, concurrency, districts, seconds, runsSucceeded, maxRunsPerDistrict, overlaps,
 *    queueOverheadMsPerJob, meanRunSeconds}
 * - `maxRunsPerDistrict` counts runs per district (1: synced exactly once) and `overlaps` the
 *   districts with two runs at the same time (must be 0).
 * - `queueOverheadMsPerJob`: worker slots' time not spent in a run — enqueue to start, polling,
 *   bookkeeping — per job: (seconds × W × concurrency − Σ run time) / jobs. It includes the tail
 *   when fewer jobs than slots are left, so it is an upper bound.
 * Then `ratio`: seconds for the largest W over seconds for the smallest.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { discoverDistricts } from '../src/jobs/discover.js';
import { DistributedRunner, openBoss } from '../src/jobs/distributed-runner.js';
import { silentLogger } from '../src/shared/logger.js';
import { SecretBox } from '../src/store/secrets.js';
import { Store } from '../src/store/store.js';
import { freshDatabase } from './fresh-database.js';

const { values: args } = parseArgs({
  options: {
    districts: { type: 'string', default: '200' },
    workers: { type: 'string', default: '1,4' },
    students: { type: 'string', default: '100' },
    latency: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '1' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const districts = Number(args.districts);
const workerCounts = args.workers.split(/[,|]/).map(Number);
const concurrency = Number(args.concurrency);
mkdirSync('.tmp/bench', { recursive: true });

const env = { ...process.env, ROSTERSYNC_LOG_LEVEL: 'silent', ROSTERSYNC_HEAP_MB: '0' };

async function startProcess(argv: string[], extraEnv: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['bin/rostersync.js', ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...env, ...extraEnv },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 1200 && !ready.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`${argv[0]} exited ${child.exitCode}`);
    await sleep(50);
  }
  const m = ready.exec(out);
  if (!m) throw new Error(`${argv[0]} did not start`);
  return { child, match: m };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const sim = await startProcess(
  [
    'clever-sim',
    '--districts',
    String(districts),
    '--students',
    args.students,
    '--faults',
    `1:slow`,
    '--client-id',
    'fleet-app',
    '--client-secret',
    'fleet-secret',
  ],
  {},
  /url=(\S+)/,
);
// `--faults 1:slow` delays every Data API page; the delay itself is set through the control endpoint.
const simUrl = sim.match[1]!;
await fetch(`${simUrl}/__sim/faults`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ rate: 1, kinds: ['slow'], slowMs: Number(args.latency) }),
});

const results: Array<Record<string, number>> = [];
try {
  for (const w of workerCounts) {
    const db = await freshDatabase(args.database, '.tmp/bench', 'fleet');
    const key = SecretBox.generateKey();
    const box = SecretBox.fromString(key);
    const config = loadConfig({
      env: {},
      file: '/dev/null',
      overrides: {
        'clever.url': simUrl,
        'clever.clientId': 'fleet-app',
        'clever.clientSecret': 'fleet-secret',
      },
    });
    const store = await Store.open({ location: db.location });
    const boss = await openBoss({ url: db.location, logger: silentLogger() });
    const workers: ChildProcess[] = [];
    try {
      const found = await discoverDistricts(store, config, () => box);
      for (let i = 0; i < w; i++) {
        const p = await startProcess(
          ['worker', '--database', db.location, '--concurrency', String(concurrency)],
          {
            ROSTERSYNC_SECRET_KEY: key,
            ROSTERSYNC_CLEVER_URL: simUrl,
            ROSTERSYNC_CLEVER_CLIENT_ID: 'fleet-app',
            ROSTERSYNC_CLEVER_CLIENT_SECRET: 'fleet-secret',
          },
          /worker started/,
        );
        workers.push(p.child);
      }
      const runner = new DistributedRunner(boss, store);
      const t0 = Date.now();
      for (const d of found) await runner.enqueue({ district: d.id, origin: 'schedule' });
      let succeeded = 0;
      while (succeeded < found.length) {
        await sleep(250);
        succeeded = 0;
        for (const r of await store.runs.list({ limit: found.length * 3 }))
          if (r.status === 'succeeded') succeeded++;
      }
      const seconds = (Date.now() - t0) / 1000;
      const runs = await store.runs.list({ limit: found.length * 3 });
      const byDistrict = new Map<string, Array<{ start: number; end: number }>>();
      let runMs = 0;
      for (const r of runs) {
        const start = Date.parse(r.startedAt);
        const end = r.finishedAt ? Date.parse(r.finishedAt) : Date.now();
        runMs += end - start;
        byDistrict.set(r.district, [...(byDistrict.get(r.district) ?? []), { start, end }]);
      }
      let overlaps = 0;
      for (const list of byDistrict.values()) {
        list.sort((a, b) => a.start - b.start);
        if (list.some((x, i) => i > 0 && x.start < list[i - 1]!.end)) overlaps++;
      }
      const result = {
        workers: w,
        concurrency,
        districts: found.length,
        seconds: Math.round(seconds * 10) / 10,
        runsSucceeded: succeeded,
        maxRunsPerDistrict: Math.max(...[...byDistrict.values()].map((l) => l.length)),
        overlaps,
        queueOverheadMsPerJob: Math.round((seconds * 1000 * w * concurrency - runMs) / found.length),
        meanRunSeconds: Math.round(runMs / runs.length / 100) / 10,
      };
      results.push(result);
      process.stdout.write(JSON.stringify(result) + '\n');
    } finally {
      for (const p of workers) await stop(p);
      await boss.stop({ graceful: false, wait: true });
      await store.close();
      await db.drop();
    }
  }
  if (results.length > 1)
    process.stdout.write(
      JSON.stringify({ ratio: Math.round((results.at(-1)!.seconds! / results[0]!.seconds!) * 100) / 100 }) +
        '\n',
    );
} finally {
  await stop(sim.child);
}
