/**
 * `npm run bench:api -- [--students 200000] [--rate 300] [--seconds 30] [--connections 32]
 *   [--database postgres://…] [--reuse postgres://…/db]`
 *
 * Account lookups by identifier through the REST API under a steady request rate:
 * 1. a fresh PostgreSQL database (`--database` names the server) synced from the simulator with one
 *    district of `--students` students, or `--reuse` a database synced before (its first district);
 * 2. `rostersync serve` on it, in its own process (so the load generator does not share its event
 *    loop), with a read key and the rate limit raised above the offered load;
 * 3. autocannon at `--rate` requests a second for `--seconds` (after a 5 s warm-up at the same rate),
 *    each request `GET /api/v1/accounts?district=D&identifier=V` for the next of a few thousand
 *    identifiers drawn from every identity kind the district's accounts hold.
 * Prints one JSON object: {students, accounts, rate, seconds, requests, p50Ms, p90Ms, p99Ms, maxMs,
 * errors, timeouts, non2xx, misses, floorP50Ms, floorP99Ms} where `misses` counts answers that
 * did not hold the account the identifier was drawn from, and the floor is the same rate at
 * `/healthz` (no key, no database) just before. `--keep` keeps a fresh database for `--reuse`. Latencies are corrected for coordinated omission
 * (autocannon's default at a fixed rate).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { createApiKey } from '../src/server/api/api-keys.js';
import { silentLogger } from '../src/shared/logger.js';
import { startCleverSimulator } from '../src/simulator/index.js';
import { Store } from '../src/store/store.js';
import { syncFromClever } from '../src/sync/clever-sync.js';
import { freshDatabase } from './fresh-database.js';

const { values: args } = parseArgs({
  options: {
    students: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '32' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    reuse: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
mkdirSync('.tmp/bench', { recursive: true });

let location: string;
let drop = (): Promise<void> => Promise.resolve();
if (args.reuse) {
  location = args.reuse;
} else {
  const db = await freshDatabase(args.database, '.tmp/bench', 'apibench');
  location = db.location;
  drop = db.drop;
  const sim = await startCleverSimulator({ seed: 200, students: Number(args.students) });
  const store = await Store.open({ location });
  try {
    const t = Date.now();
    const report = await syncFromClever({
      store,
      config: loadConfig({ env: {}, file: '/dev/null', overrides: { 'clever.url': sim.url } }),
      logger: silentLogger(),
      token: sim.token,
    });
    process.stderr.write(
      `synced ${args.students} students: ${report.status} in ${(Date.now() - t) / 1000} s\n`,
    );
  } finally {
    await store.close();
    await sim.close();
  }
}

// The lookups: identifiers of every kind, each with the account it must find.
const store = await Store.open({ location });
const district = (await store.districts.list())[0]!.id;
const { token } = await createApiKey(store, { name: 'api bench', scope: 'read' });
const lookups: Array<{ path: string; id: string }> = [];
let accounts = 0;
for (let after: string | undefined; ;) {
  const page = await store.accounts.list({ district, limit: 5000, ...(after ? { after } : {}) });
  if (page.length === 0) break;
  accounts += page.length;
  after = page[page.length - 1]!.id;
  // Every 40th account, each of its identities: a few thousand lookups spread over the district.
  for (let i = 0; i < page.length; i += 40) {
    const a = page[i]!;
    for (const ident of a.identities) {
      lookups.push({
        path: `/api/v1/accounts?district=${encodeURIComponent(district)}&identifier=${encodeURIComponent(ident.value)}`,
        id: a.id,
      });
    }
  }
}
await store.close();
// Shuffled (a fixed permutation), so consecutive requests hit unrelated rows.
for (let i = lookups.length - 1, s = 7; i > 0; i--) {
  s = (s * 1103515245 + 12345) % 2 ** 31;
  const j = s % (i + 1);
  [lookups[i], lookups[j]] = [lookups[j]!, lookups[i]!];
}

async function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['bin/rostersync.js', 'serve', '--database', location, '--port', '0', '--workers', '0'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ROSTERSYNC_LOG_LEVEL: 'warn',
        ROSTERSYNC_API_RATE_LIMIT_PER_MINUTE: String(rate * 60 * 10),
      },
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 1200; i++) {
    const m = /listening url=(\S+)/.exec(out);
    if (m) return { child, url: m[1]! };
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}`);
    await sleep(50);
  }
  throw new Error('serve did not start');
}

const serve = await startServe();
try {
  let next = 0;
  let misses = 0;
  const run = (duration: number) =>
    autocannon({
      url: serve.url,
      connections,
      overallRate: rate,
      duration,
      headers: { authorization: `Bearer ${token}` },
      requests: [
        {
          method: 'GET',
          setupRequest: (req, context) => {
            const l = lookups[next++ % lookups.length]!;
            (context as { id?: string }).id = l.id;
            return { ...req, path: l.path };
          },
          onResponse: (status, body, context) => {
            if (status !== 200) return;
            const items = (JSON.parse(body) as { items: Array<{ id: string }> }).items;
            if (!items.some((i) => i.id === (context as { id?: string }).id)) misses++;
          },
        },
      ],
    });
  // The floor: the same rate at `/healthz` (no key check, no database), in the same run, so the
  // figures can be read against what this machine gives any request at the time.
  const floor = await autocannon({
    url: `${serve.url}/healthz`,
    connections,
    overallRate: rate,
    duration: seconds,
  });
  await run(5);
  misses = 0;
  const r = await run(seconds);
  console.log(
    JSON.stringify({
      students: Number(args.students),
      accounts,
      lookups: lookups.length,
      rate,
      seconds,
      requests: r.requests.total,
      p50Ms: r.latency.p50,
      p90Ms: r.latency.p90,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      misses,
      floorP50Ms: floor.latency.p50,
      floorP99Ms: floor.latency.p99,
    }),
  );
} finally {
  const exited = new Promise((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGTERM');
  await exited;
  if (args.keep) process.stderr.write(`kept the database: --reuse ${location}\n`);
  else if (!args.reuse) await drop();
}
