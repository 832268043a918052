/**
 * `npm run bench -- --students N [--database postgres://…] [--page-size N] [--seed S] [--events-days N]`
 *
 * Syncs a simulated district of N students (teachers N/20, school staff N/100, one contact per
 * student, four sections per teacher) and prints one JSON object:
 *   {students, users, records, seconds, usersPerSecond, peakRssMb, floorSeconds, floorPagingSeconds,
 *    floorLoadSeconds, ratioToFloor, resyncSeconds, resyncRatio, resyncChanged, database}
 *
 * The simulator runs in its own process (`rostersync clever-sim`), so the sync's memory and CPU are
 * its own. The floor is measured in the same run against the same simulator: page every list the
 * sync reads with plain HTTP requests and JSON.parse and nothing else, then load rows into
 * unindexed tables — PostgreSQL COPY, or for SQLite one prepared INSERT per row in one transaction.
 * Two loads are measured, because "the same rows" can be read two ways:
 * - `floorLoadSeconds`: every row the sync stored (records, accounts, identities, memberships,
 *   contact links, the change feed), copied out of the synced database and loaded again. This is
 *   the floor `ratioToFloor` uses: the same data, the same volume, none of the work.
 * - `recordFloorLoadSeconds`: only the records as paged (id + JSON), one row per record; its ratio
 *   is `ratioToRecordFloor`, the stricter reading.
 * The sync runs first so the floor's work cannot inflate the sync's peak RSS.
 *
 * With `--events-days N` (N ≥ 1), after the no-change re-sync the simulator lives N normal days and
 * an events sync (`--mode events`) applies them: `eventsSeconds`, `eventsToFullRatio` (against the
 * first full sync), `eventsToResyncRatio` (against the no-change full re-sync), `eventsApplied` (the
 * events read), `eventsChanged` (records it created, updated or archived). A full re-sync follows
 * and must find nothing to change (`afterEventsFullChanged: false`): the events left what a full
 * walk would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/shared/logger.js';
import { isPostgresUrl } from '../src/store/db.js';
import { freshDatabase } from './fresh-database.js';
import { Store } from '../src/store/store.js';
import { syncFromClever } from '../src/sync/clever-sync.js';
import { changedNothing } from '../src/sync/run-report.js';

const { values: args } = parseArgs({
  options: {
    students: { type: 'string', default: '10000' },
    database: { type: 'string' },
    'page-size': { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    'events-days': { type: 'string', default: '0' },
  },
});
const students = Number(args.students);
const pageSize = Number(args['page-size']);
const eventsDays = Number(args['events-days']);
const workDir = '.tmp/bench';
mkdirSync(workDir, { recursive: true });

async function startSimulator(): Promise<{ url: string; token: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=4096',
      'bin/rostersync.js',
      'clever-sim',
      '--students',
      String(students),
      '--seed',
      String(args.seed),
      '--rate-limit',
      '100000',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rl = createInterface({ input: child.stdout });
  for await (const line of rl) {
    const url = /url=(\S+)/.exec(line)?.[1];
    const token = /token=(\S+)/.exec(line)?.[1];
    if (url && token) return { url, token, child };
  }
  throw new Error('clever-sim did not print its url');
}

async function timedSync(location: string, url: string, token: string, kind: 'full' | 'events' = 'full') {
  const store = await Store.open({ location });
  try {
    const config = loadConfig({
      env: {},
      file: '/dev/null',
      overrides: {
        'clever.url': url,
        'clever.token': token,
        'clever.pageSize': pageSize,
        'clever.requestsPerMinute': 1200,
      },
    });
    const t = performance.now();
    const report = await syncFromClever({ store, config, logger: silentLogger(), kind });
    const seconds = (performance.now() - t) / 1000;
    if (report.status !== 'succeeded') throw new Error(`sync ${report.status}: ${report.reason ?? ''}`);
    return { seconds, report };
  } finally {
    await store.close();
  }
}

/** Plain paging + JSON.parse of every list the sync reads; rows go to an NDJSON file for the load. */
async function floorPaging(url: string, token: string, rowsFile: string) {
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const out = createWriteStream(rowsFile);
  let users = 0;
  let records = 0;
  let writeMs = 0;
  const t = performance.now();
  const paths = [
    '/schools',
    '/terms',
    '/courses',
    ...['student', 'teacher', 'staff', 'district_admin', 'contact'].map((r) => `/users?role=${r}`),
    '/sections',
  ];
  for (const p of paths) {
    let next: string | null = `/v3.0${p}${p.includes('?') ? '&' : '?'}limit=${pageSize}`;
    while (next) {
      const res = await request(url + next, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}` },
      });
      const body = JSON.parse(await res.body.text()) as {
        data: Array<{ data: { id: string } }>;
        links: Array<{ rel: string; uri: string }>;
      };
      next = body.links.find((l) => l.rel === 'next')?.uri ?? null;
      const w = performance.now();
      let chunk = '';
      for (const item of body.data)
        chunk += `${item.data.id}\t${JSON.stringify(item.data).replace(/\\/g, '\\\\')}\n`;
      if (!out.write(chunk)) await once(out, 'drain');
      writeMs += performance.now() - w;
      records += body.data.length;
      if (p.startsWith('/users')) users += body.data.length;
    }
  }
  const seconds = (performance.now() - t - writeMs) / 1000;
  out.end();
  await once(out, 'finish');
  await agent.close();
  return { seconds, users, records };
}

async function floorLoad(location: string, rowsFile: string): Promise<number> {
  if (isPostgresUrl(location)) {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      await client.query('create unlogged table if not exists bench_floor (id text, data text)');
      await client.query('truncate bench_floor');
      const t = performance.now();
      await pipeline(
        createReadStream(rowsFile),
        client.query(copyFrom('copy bench_floor (id, data) from stdin')),
      );
      return (performance.now() - t) / 1000;
    } finally {
      await client.query('drop table if exists bench_floor').catch(() => undefined);
      await client.end();
    }
  }
  const db = new SQLite(location);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('create table if not exists bench_floor (id text, data text); delete from bench_floor;');
    const insert = db.prepare('insert into bench_floor (id, data) values (?, ?)');
    const t = performance.now();
    const rl = createInterface({ input: createReadStream(rowsFile), crlfDelay: Infinity });
    let batch: Array<[string, string]> = [];
    const flush = db.transaction((rows: Array<[string, string]>) => {
      for (const r of rows) insert.run(r[0], r[1]);
    });
    for await (const line of rl) {
      const tab = line.indexOf('\t');
      batch.push([line.slice(0, tab), line.slice(tab + 1)]);
      if (batch.length >= 10_000) {
        flush(batch);
        batch = [];
      }
    }
    flush(batch);
    const seconds = (performance.now() - t) / 1000;
    db.exec('drop table bench_floor');
    return seconds;
  } finally {
    db.close();
  }
}

/** Tables a sync writes, for the all-rows floor. */
const SYNCED_TABLES = [
  'schools',
  'terms',
  'courses',
  'sections',
  'students',
  'staff',
  'contacts',
  'section_members',
  'contact_students',
  'accounts',
  'account_identities',
  'account_changes',
];

/** Loads every row the sync stored into unindexed copies of its tables; returns {seconds, rows}. */
async function allRowsFloor(location: string): Promise<{ seconds: number; rows: number }> {
  let seconds = 0;
  let rows = 0;
  if (isPostgresUrl(location)) {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      for (const t of SYNCED_TABLES) {
        // account_identities exists on SQLite only (see DialectQueries.accountsByIdentity in src/store/dialect/).
        if ((await client.query('select to_regclass($1) as t', [t])).rows[0].t === null) continue;
        const file = `${workDir}/floor-${t}-${process.pid}.copy`;
        await pipeline(client.query(copyTo(`copy (select * from ${t}) to stdout`)), createWriteStream(file));
        await client.query(`create unlogged table floor_${t} (like ${t})`);
        const t0 = performance.now();
        await pipeline(createReadStream(file), client.query(copyFrom(`copy floor_${t} from stdin`)));
        seconds += (performance.now() - t0) / 1000;
        rows += Number((await client.query(`select count(*)::int as n from floor_${t}`)).rows[0].n);
        await client.query(`drop table floor_${t}`);
        rmSync(file, { force: true });
      }
    } finally {
      await client.end();
    }
    return { seconds, rows };
  }
  const db = new SQLite(location);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    for (const t of SYNCED_TABLES) {
      const cols = (db.prepare(`pragma table_info(${t})`).all() as Array<{ name: string }>).map(
        (c) => c.name,
      );
      if (cols.length === 0) continue;
      db.exec(`create table floor_${t} (${cols.join(', ')})`);
      // Read in rowid-ordered chunks (a whole table would not fit the benchmark's heap), then time
      // only the inserts.
      const read = db
        .prepare(`select rowid as _r, * from ${t} where rowid > ? order by rowid limit 20000`)
        .raw(true);
      const insert = db.prepare(`insert into floor_${t} values (${cols.map(() => '?').join(', ')})`);
      db.exec('begin'); // the whole table in one transaction: the fastest SQLite load
      for (let last = 0; ;) {
        const chunk = read.all(last) as unknown[][];
        if (chunk.length === 0) break;
        last = Number(chunk[chunk.length - 1]![0]);
        const t0 = performance.now();
        for (const r of chunk) insert.run(...r.slice(1));
        seconds += (performance.now() - t0) / 1000;
        rows += chunk.length;
      }
      db.exec('commit');
      db.exec(`drop table floor_${t}`);
    }
  } finally {
    db.close();
  }
  return { seconds, rows };
}

const sim = await startSimulator();
const db = await freshDatabase(args.database, workDir, 'rostersync_bench');
try {
  const first = await timedSync(db.location, sim.url, sim.token);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const second = await timedSync(db.location, sim.url, sim.token);
  let events: Record<string, unknown> = {};
  if (eventsDays > 0) {
    const res = await request(`${sim.url}/__sim/advance?days=${eventsDays}&kind=normal`, { method: 'POST' });
    await res.body.text();
    const ev = await timedSync(db.location, sim.url, sim.token, 'events');
    const after = await timedSync(db.location, sim.url, sim.token, 'full');
    const c = Object.values(ev.report.counts);
    events = {
      eventsDays,
      eventsSeconds: Number(ev.seconds.toFixed(2)),
      eventsToFullRatio: Number((ev.seconds / first.seconds).toFixed(4)),
      eventsToResyncRatio: Number((ev.seconds / second.seconds).toFixed(4)),
      eventsApplied: ev.report.stats.events ?? 0,
      eventsChanged: c.reduce((n, x) => n + x.created + x.updated + x.archived + x.restored, 0),
      eventsTimings: ev.report.stats.timings,
      afterEventsFullSeconds: Number(after.seconds.toFixed(2)),
      afterEventsFullChanged: !changedNothing(after.report),
    };
  }
  const rowsFile = `${workDir}/floor-rows-${process.pid}.tsv`;
  const paging = await floorPaging(sim.url, sim.token, rowsFile);
  const recordLoadSeconds = await floorLoad(db.location, rowsFile);
  rmSync(rowsFile, { force: true });
  const allRows = await allRowsFloor(db.location);
  const floorSeconds = paging.seconds + allRows.seconds;
  const recordFloorSeconds = paging.seconds + recordLoadSeconds;
  const r = (n: number, d = 2) => Number(n.toFixed(d));
  process.stdout.write(
    JSON.stringify({
      students,
      users: paging.users,
      records: paging.records,
      seconds: r(first.seconds),
      usersPerSecond: Math.round(paging.users / first.seconds),
      peakRssMb,
      rowsStored: allRows.rows,
      floorSeconds: r(floorSeconds),
      floorPagingSeconds: r(paging.seconds),
      floorLoadSeconds: r(allRows.seconds),
      ratioToFloor: r(first.seconds / floorSeconds),
      recordFloorSeconds: r(recordFloorSeconds),
      recordFloorLoadSeconds: r(recordLoadSeconds),
      ratioToRecordFloor: r(first.seconds / recordFloorSeconds),
      resyncSeconds: r(second.seconds),
      resyncRatio: r(second.seconds / first.seconds),
      resyncChanged: !changedNothing(second.report),
      database: isPostgresUrl(db.location) ? 'postgres' : 'sqlite',
      timings: first.report.stats.timings,
      ...events,
    }) + '\n',
  );
} finally {
  sim.child.kill('SIGTERM');
  await db.drop();
}
