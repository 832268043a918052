/**
 * `npm run bench:api -- [--students 200000] [--rate 300] [--seconds 30] [--connections 32]
 *   [--database postgres://…] [--reuse postgres://…/db] [--keep]`
 *
 * Account lookups by identifier through the REST API, and Clever sign-in callbacks, each under a
 * steady request rate, on one store:
 * 1. a fresh PostgreSQL database (`--database` names the server) synced from the simulator with one
 *    district of `--students` students (seed 200), or `--reuse` a database synced before (its first
 *    district, from the same simulator: same `--students`);
 * 2. the simulator again (`rostersync clever-sim`, same seed and size), in its own process, as the
 *    Clever of sign-in: `/oauth/tokens` and `/me`;
 * 3. `rostersync serve` on the database, in its own process (so the load generator shares the event
 *    loop of neither), with a read key, the rate limit raised above the offered load, and Clever
 *    sign-in on (its client credentials, a P-256 signing key, `sso.appUrl`);
 * 4. at `--rate` requests a second for `--seconds` each, from autocannon:
 *    - floor: `/healthz` (no key, no database): what this machine gives any request at the time;
 *    - lookups (after a 5 s warm-up): `GET /api/v1/accounts?district=D&identifier=V` for the next of
 *      a few thousand identifiers drawn from every identity kind the district's accounts hold;
 *      `misses` counts answers that did not hold the account the identifier was drawn from;
 *    - simulator floor: what sign-in asks of the simulator, straight at it: a code exchange
 *      (`POST /oauth/tokens`) then `/v3.0/me` with the token, `--rate` pairs a second;
 *    - callback (after a 5 s warm-up): `GET /auth/clever/callback?code=…` with no state (a login
 *      that started in the Clever portal) for students and staff of the district, each code minted
 *      just before its phase by the simulator's `POST /__sim/codes` (codes live one minute, so
 *      `--seconds` is at most 50). `bad` counts answers that are not the 302 to `sso.appUrl`
 *      with an assertion for the account the code was minted for; after the run every assertion
 *      is verified against the server's JWKS (signature, issuer, audience, expiry at its arrival),
 *      and `badAssertions` counts those that fail.
 * Prints one JSON object: {students, accounts, rate, seconds, connections, floor, lookups,
 * simulatorFloor, callback}, each phase with {requests, p50Ms, p90Ms, p99Ms, maxMs, errors,
 * timeouts, non2xx, servePct, simulatorPct, benchPct, …}; the last three are the CPU the server,
 * the simulator (from /proc; null without it) and the load generator used over the phase, as a
 * share of one core. `--keep` keeps a fresh database for `--reuse`. Latencies are autocannon's,
 * corrected for coordinated omission (its default at a fixed rate).
 */
import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { loadConfig } from '../src/config.js';
import { createApiKey } from '../src/accounts/api-keys.js';
import { silentLogger } from '../src/shared/logger.js';
import { startCleverSimulator } from '../src/simulator/index.js';
import { Store } from '../src/store/store.js';
import { syncFromClever } from '../src/sync/clever-sync.js';
import { freshDatabase } from './fresh-database.js';

const SEED = 200;
/** Where a signed-in browser is sent: only the Location header is read, nothing connects to it. */
const APP_URL = 'https://app.bench.invalid/signed-in';
/** Codes live one minute in the simulator; a phase must use its last code before then. */
const MAX_CALLBACK_SECONDS = 50;
const WARM_UP_SECONDS = 5;

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
const students = Number(args.students);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
if (seconds > MAX_CALLBACK_SECONDS)
  throw new Error(`--seconds: at most ${MAX_CALLBACK_SECONDS} (sign-in codes live one minute)`);
mkdirSync('.tmp/bench', { recursive: true });

let location: string;
let drop = (): Promise<void> => Promise.resolve();
if (args.reuse) {
  location = args.reuse;
} else {
  const db = await freshDatabase(args.database, '.tmp/bench', 'apibench');
  location = db.location;
  drop = db.drop;
  const sim = await startCleverSimulator({ seed: SEED, students });
  const store = await Store.open({ location });
  try {
    const t = Date.now();
    const report = await syncFromClever({
      store,
      config: loadConfig({ env: {}, file: '/dev/null', overrides: { 'clever.url': sim.url } }),
      logger: silentLogger(),
      token: sim.token,
    });
    process.stderr.write(`synced ${students} students: ${report.status} in ${(Date.now() - t) / 1000} s\n`);
  } finally {
    await store.close();
    await sim.close();
  }
}

// The lookups: identifiers of every kind, each with the account it must find. The logins: active
// students and staff with their Clever user id and the role they log in as.
const store = await Store.open({ location });
const district = (await store.districts.list())[0]!.id;
const { token } = await createApiKey(store, { name: 'api bench', scope: 'read' });
const lookups: Array<{ path: string; id: string }> = [];
const logins: Array<{ user: string; role: string; id: string }> = [];
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
  // Every 20th account (others than the lookups'), as the people who sign in.
  for (let i = 3; i < page.length; i += 20) {
    const a = page[i]!;
    const clever = a.identities.find((x) => x.type === 'clever_id');
    if (a.status !== 'active' || !clever) continue;
    const role = a.kind === 'student' ? 'student' : a.kind === 'staff' ? a.roles[0] : undefined;
    if (role !== undefined) logins.push({ user: clever.value, role, id: a.id });
  }
}
await store.close();
/** A fixed permutation, so consecutive requests hit unrelated rows. */
function shuffle<T>(xs: T[]): void {
  for (let i = xs.length - 1, s = 7; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}
shuffle(lookups);
shuffle(logins);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs the CLI in its own process until the line matching `ready` appears on its stdout. */
async function startCli(
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['bin/rostersync.js', ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 1200; i++) {
    const m = ready.exec(out);
    if (m) return { child, match: m };
    if (child.exitCode !== null) throw new Error(`${argv[0]} exited ${child.exitCode}`);
    await sleep(50);
  }
  child.kill('SIGTERM');
  throw new Error(`${argv[0]} did not start`);
}

/**
 * CPU seconds used so far by a process and its descendants (the CLI runs itself again with its heap
 * flags), from /proc; null where there is no /proc.
 */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const kid of kids === '' ? [] : kids.split(' ')) ticks += (cpuSeconds(Number(kid)) ?? 0) * 100;
    }
    return ticks / 100;
  } catch {
    return null;
  }
}

/**
 * Runs a phase and reports how busy the server, the simulator and this process (autocannon) were
 * during it, as a share of one core: a process near 100% would be the bottleneck of that phase.
 */
async function measured<T>(
  procs: { serve: ChildProcess; simulator: ChildProcess },
  phase: () => Promise<T>,
): Promise<{
  result: T;
  cpu: { servePct: number | null; simulatorPct: number | null; benchPct: number };
}> {
  const before = { serve: cpuSeconds(procs.serve.pid!), simulator: cpuSeconds(procs.simulator.pid!) };
  const own = process.cpuUsage();
  const t = performance.now();
  const result = await phase();
  const wall = (performance.now() - t) / 1000;
  const ownUsed = process.cpuUsage(own);
  const pct = (a: number | null, b: number | null) =>
    a === null || b === null ? null : Math.round(((b - a) / wall) * 100);
  return {
    result,
    cpu: {
      servePct: pct(before.serve, cpuSeconds(procs.serve.pid!)),
      simulatorPct: pct(before.simulator, cpuSeconds(procs.simulator.pid!)),
      benchPct: pct(0, (ownUsed.user + ownUsed.system) / 1e6)!,
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const children: ChildProcess[] = [];
try {
  const sim = await startCli(
    ['clever-sim', '--seed', String(SEED), '--students', String(students)],
    {},
    /clever-sim listening url=(\S+) token=\S+ client_id=(\S+) client_secret=(\S+)/,
  );
  children.push(sim.child);
  const [, simUrl, clientId, clientSecret] = sim.match as unknown as [string, string, string, string];

  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/auth/clever/callback`;
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  const serve = await startCli(
    ['serve', '--database', location, '--port', String(port), '--workers', '0'],
    {
      ROSTERSYNC_LOG_LEVEL: 'warn',
      ROSTERSYNC_API_RATE_LIMIT_PER_MINUTE: String(rate * 60 * 10),
      ROSTERSYNC_CLEVER_URL: simUrl,
      ROSTERSYNC_CLEVER_OAUTH_URL: simUrl,
      ROSTERSYNC_CLEVER_CLIENT_ID: clientId,
      ROSTERSYNC_CLEVER_CLIENT_SECRET: clientSecret,
      ROSTERSYNC_SSO_REDIRECT_URI: redirectUri,
      ROSTERSYNC_SSO_APP_URL: APP_URL,
      ROSTERSYNC_SSO_SIGNING_KEY: signingKey,
    },
    /listening url=(\S+)/,
  );
  children.push(serve.child);
  const serveUrl = serve.match[1]!;

  const figures = (r: autocannon.Result) => ({
    requests: r.requests.total,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  });

  // The floor: the same rate at `/healthz` (no key check, no database), in the same run, so the
  // figures can be read against what this machine gives any request at the time.
  const procs = { serve: serve.child, simulator: sim.child };
  const floor = await measured(procs, () =>
    autocannon({ url: `${serveUrl}/healthz`, connections, overallRate: rate, duration: seconds }),
  );

  // Lookups.
  let next = 0;
  let misses = 0;
  const lookupRun = (duration: number) =>
    autocannon({
      url: serveUrl,
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
  await lookupRun(WARM_UP_SECONDS);
  misses = 0;
  const lookupResult = await measured(procs, () => lookupRun(seconds));

  // Sign-in: codes minted just before each phase, one per request (and some to spare: autocannon
  // may build a request or two per connection that it never sends).
  let loginAt = 0;
  const mint = async (count: number): Promise<Array<{ code: string; id: string }>> => {
    const out: Array<{ code: string; id: string }> = [];
    while (out.length < count) {
      const batch = Array.from(
        { length: Math.min(5000, count - out.length) },
        () => logins[loginAt++ % logins.length]!,
      );
      const res = await fetch(`${simUrl}/__sim/codes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uri: redirectUri,
          logins: batch.map(({ user, role }) => ({ user, role })),
        }),
      });
      if (res.status !== 200) throw new Error(`/__sim/codes answered ${res.status}: ${await res.text()}`);
      const { codes } = (await res.json()) as { codes: string[] };
      codes.forEach((code, i) => out.push({ code, id: batch[i]!.id }));
    }
    return out;
  };
  const codesFor = (duration: number) => Math.ceil(rate * duration * 1.05) + 4 * connections;

  // The simulator's floor: the two calls of a sign-in, straight at the simulator.
  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const floorCodes = await mint(codesFor(seconds));
  let floorNext = 0;
  let simBad = 0;
  type SimContext = { userToken?: string | undefined };
  const simFloor = await measured(procs, () =>
    autocannon({
      url: simUrl,
      connections,
      overallRate: rate * 2,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: '/oauth/tokens',
          setupRequest: (req, context) => {
            (context as SimContext).userToken = undefined;
            const c = floorCodes[floorNext++]?.code ?? 'none-left';
            return {
              ...req,
              headers: { authorization: basic, 'content-type': 'application/json' },
              body: JSON.stringify({ code: c, grant_type: 'authorization_code', redirect_uri: redirectUri }),
            };
          },
          onResponse: (status, body, context) => {
            if (status === 200)
              (context as SimContext).userToken = (JSON.parse(body) as { access_token: string }).access_token;
            else simBad++;
          },
        },
        {
          method: 'GET',
          path: '/v3.0/me',
          setupRequest: (req, context) => {
            const t = (context as SimContext).userToken;
            return { ...req, headers: { authorization: `Bearer ${t ?? 'none'}` } };
          },
          onResponse: (status) => {
            if (status !== 200) simBad++;
          },
        },
      ],
    }),
  );

  // The callback, as a login from the Clever portal arrives: no state, no cookie.
  type CallbackContext = { id?: string };
  let callbackBad = 0;
  const assertions: Array<{ jwt: string; at: number }> = [];
  const callbackRun = (duration: number, codes: Array<{ code: string; id: string }>) => {
    let n = 0;
    return autocannon({
      url: serveUrl,
      connections,
      overallRate: rate,
      duration,
      requests: [
        {
          method: 'GET',
          setupRequest: (req, context) => {
            const c = codes[n++] ?? { code: 'none-left', id: '' };
            (context as CallbackContext).id = c.id;
            return { ...req, path: `/auth/clever/callback?code=${c.code}` };
          },
          onResponse: (status, _body, context, headers) => {
            const at = Date.now();
            const to = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'location')?.[1];
            const target = status === 302 && typeof to === 'string' ? new URL(to) : null;
            const jwt = target?.searchParams.get('assertion');
            if (
              !target ||
              `${target.origin}${target.pathname}` !== APP_URL ||
              !jwt ||
              decodeJwt(jwt).sub !== (context as CallbackContext).id
            ) {
              callbackBad++;
              return;
            }
            assertions.push({ jwt, at });
          },
        },
      ],
    });
  };
  await callbackRun(WARM_UP_SECONDS, await mint(codesFor(WARM_UP_SECONDS)));
  callbackBad = 0;
  assertions.length = 0;
  const callbackCodes = await mint(codesFor(seconds));
  const callback = await measured(procs, () => callbackRun(seconds, callbackCodes));

  // Every assertion of the measured phase against the server's published key.
  const jwks = createLocalJWKSet(
    (await (await fetch(`${serveUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
  );
  let badAssertions = 0;
  for (const a of assertions) {
    try {
      await jwtVerify(a.jwt, jwks, {
        issuer: new URL(redirectUri).origin,
        audience: new URL(APP_URL).origin,
        currentDate: new Date(a.at),
      });
    } catch {
      badAssertions++;
    }
  }

  console.log(
    JSON.stringify({
      students,
      accounts,
      rate,
      seconds,
      connections,
      floor: { ...figures(floor.result), ...floor.cpu },
      lookups: { ...figures(lookupResult.result), ...lookupResult.cpu, identifiers: lookups.length, misses },
      simulatorFloor: { ...figures(simFloor.result), ...simFloor.cpu, pairsPerSecond: rate, bad: simBad },
      callback: {
        ...figures(callback.result),
        ...callback.cpu,
        logins: logins.length,
        // A 302 is the expected answer here: autocannon counts it in non2xx.
        redirects: assertions.length,
        bad: callbackBad,
        badAssertions,
      },
    }),
  );
} finally {
  for (const child of children.reverse()) await stop(child);
  if (args.keep) process.stderr.write(`kept the database: --reuse ${location}\n`);
  else if (!args.reuse) await drop();
}
