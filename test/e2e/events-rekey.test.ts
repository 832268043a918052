import { expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/logger.js';
import type { CleverSimulator, DayRecord } from '../../src/simulator/index.js';
import { CleverSource } from '../../src/sources/clever/clever-source.js';
import type { EventFeed, EventPage, SourceChange } from '../../src/sources/source.js';
import { Store } from '../../src/store/store.js';
import { approveRun } from '../../src/sync/run-control.js';
import { changedNothing } from '../../src/sync/run-report.js';
import type { RunReport } from '../../src/sync/run-report.js';
import { runSync } from '../../src/sync/run-sync.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { simConfig, syncSim, withSimulator } from '../helpers/sync.js';

/** The district's account change feed as comparable entries: kind, the account's record, fields. */
async function feedDump(store: Store, district: string): Promise<string[]> {
  const out: string[] = [];
  const records = new Map<string, string>();
  for (let after = 0; ;) {
    const page = await store.changeFeed.after(after, { district, limit: 5000 });
    if (page.length === 0) break;
    for (const c of page) {
      if (!records.has(c.accountId)) {
        const a = await store.accounts.get(c.accountId);
        records.set(c.accountId, `${a?.kind}:${a?.recordSource}:${a?.recordSourceId}`);
      }
      out.push(`${c.kind} ${records.get(c.accountId)} ${[...c.fields].sort().join(',')}`);
    }
    after = page[page.length - 1]!.seq;
  }
  return out.sort();
}

/** Every account's former identities, by the account's record (account ids differ between stores). */
async function formerDump(store: Store, district: string): Promise<string[]> {
  const out: string[] = [];
  for (let after: string | undefined; ;) {
    const page = await store.accounts.list({ district, limit: 1000, ...(after ? { after } : {}) });
    if (page.length === 0) return out.sort();
    for (const a of page) {
      const former = await store.identities.formerOf(a.id);
      if (former.length > 0)
        out.push(`${a.recordSourceId}: ${former.map((f) => `${f.type}=${f.value}`).join(',')}`);
    }
    after = page[page.length - 1]!.id;
  }
}

/** Per entity, how many records a run re-keyed. */
function rekeyedCounts(r: RunReport): Record<string, number> {
  return Object.fromEntries(Object.entries(r.counts).map(([e, c]) => [e, c.rekeyed]));
}

/** The day's re-keys, per entity the engine keeps them under. */
function dayRekeys(day: DayRecord): { students: number; staff: number } {
  const students = day.rekeyed.filter((r) => r.roles.includes('student')).length;
  return { students, staff: day.rekeyed.length - students };
}

async function expectSameStore(a: Store, b: Store, district: string): Promise<void> {
  expect(await dumpDistrict(a, district)).toEqual(await dumpDistrict(b, district));
  expect(await feedDump(a, district)).toEqual(await feedDump(b, district));
  expect(await formerDump(a, district)).toEqual(await formerDump(b, district));
}

/** Two stores synced in full to the same state, guardians provisioned (contacts follow their students). */
async function twoSynced(
  dbs: { fresh(): Promise<string> },
  sim: CleverSimulator,
  district: string,
  safetyValve: Record<string, unknown> = {},
): Promise<[Store, Store]> {
  const stores: Store[] = [];
  for (let i = 0; i < 2; i++) {
    const store = await Store.open({ location: await dbs.fresh() });
    stores.push(store);
    expect((await syncSim(store, sim, { kind: 'full' })).status).toBe('succeeded');
    const config = (await store.districts.get(district))!.config;
    await store.districts.setConfig(district, {
      ...config,
      provisionGuardians: true,
      safetyValve: { ...config.safetyValve, ...safetyValve },
    });
    expect((await syncSim(store, sim, { kind: 'full' })).status).toBe('succeeded');
  }
  return [stores[0]!, stores[1]!];
}

const DEPENDENCY_ORDER: readonly string[] = [
  'schools',
  'terms',
  'courses',
  'students',
  'staff',
  'sections',
  'contacts',
];

/**
 * The simulator's source, its event feed leaving out the changes of `withheld` ids; with `createsFirst`,
 * its changes read again as pages of that many, every create and update (in dependency order)
 * before every delete; failing
 * once its last page is applied when `failAtEnd` (as a run that stops before its removals).
 */
function simSource(
  sim: CleverSimulator,
  opts: { withheld?: ReadonlySet<string>; failAtEnd?: boolean; createsFirst?: number } = {},
): CleverSource {
  const withheld = opts.withheld ?? new Set<string>();
  const s = new CleverSource({
    baseUrl: sim.url,
    token: sim.token,
    apiVersion: simConfig(sim).clever.apiVersion,
    pageSize: 500,
    logger: silentLogger(),
    retryBaseMs: 5,
  });
  const events = s.events.bind(s);
  s.events = (): EventFeed => {
    const feed = events();
    return {
      stamp: feed.stamp,
      newest: () => feed.newest(),
      has: (id) => feed.has(id),
      schools: () => feed.schools(),
      pages: async function* (cursor) {
        const all: EventPage[] = [];
        for await (const page of feed.pages(cursor)) {
          const changes = page.changes.filter(
            (c) =>
              !(
                (c.kind === 'upsert' && withheld.has(c.record.sourceId)) ||
                (c.kind === 'delete' && withheld.has(c.sourceId))
              ),
          );
          if (opts.createsFirst === undefined) yield { ...page, changes };
          else all.push({ ...page, changes });
        }
        if (opts.createsFirst !== undefined && all.length > 0) {
          const changes = all.flatMap((p) => p.changes);
          // Records before the records that name them (a contact after its students), as in the feed.
          const rank = (c: SourceChange) =>
            c.kind === 'delete' ? 9 : c.kind === 'upsert' ? DEPENDENCY_ORDER.indexOf(c.record.entity) : 0;
          const ordered = changes
            .map((c, i) => ({ c, i }))
            .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
            .map((x) => x.c);
          const last = all[all.length - 1]!;
          for (let i = 0; i < ordered.length; i += opts.createsFirst) {
            const part = ordered.slice(i, i + opts.createsFirst);
            yield { changes: part, problems: [], cursor: last.cursor, events: part.length };
          }
        }
        if (opts.failAtEnd) throw new Error('stopped before its removals');
      },
    };
  };
  return s;
}

/** One sync of `source` by events, the source closed after. */
async function eventsRun(store: Store, source: CleverSource): Promise<RunReport> {
  try {
    return await runSync({ store, source, kind: 'events', logger: silentLogger() });
  } finally {
    await source.close();
  }
}

describeEachDatabase('re-keys in an events sync', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 47, students: 400, contactsPerStudent: 1.5 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  it('a re-key day applied by events ends in the store a full sync of that day gives; replaying it changes nothing', async () => {
    const [byEvents, byFull] = await twoSynced(dbs, sim, district);
    try {
      const before = (await byEvents.eventCursors.get(district))!.cursor!;
      const [day] = sim.advance(1, 'rekey');
      const want = dayRekeys(day!);
      expect(want.students).toBeGreaterThan(10);
      expect(want.staff).toBeGreaterThan(0);

      const plan = await syncSim(byEvents, sim, { kind: 'events', mode: 'plan' });
      expect(plan.accounts).toMatchObject({ rekeyed: day!.rekeyed.length, deactivated: 0, conflicts: 0 });

      const ev = await syncSim(byEvents, sim, { kind: 'events' });
      expect(ev.kind?.kind).toBe('events');
      const full = await syncSim(byFull, sim, { kind: 'full' });
      expect(full.status).toBe('succeeded');
      expect(ev.status, ev.reason ?? '').toBe('succeeded');
      expect(ev.accounts).toEqual(full.accounts);
      expect(ev.accounts).toMatchObject({
        rekeyed: day!.rekeyed.length,
        deactivated: 0,
        provisioned: 0,
        conflicts: 0,
        held: 0,
      });
      expect(rekeyedCounts(ev)).toEqual(rekeyedCounts(full));
      expect(ev.counts.students.rekeyed).toBe(want.students);
      expect(ev.counts.staff.rekeyed).toBe(want.staff);
      expect(ev.counts.students.archived).toBe(want.students);
      await expectSameStore(byEvents, byFull, district);

      // The same events again (the cursor put back): nothing changes.
      const dump = await dumpDistrict(byEvents, district);
      await byEvents.eventCursors.advance(district, before, 'test');
      const replay = await syncSim(byEvents, sim, { kind: 'events' });
      expect(replay.status).toBe('succeeded');
      expect(replay.stats.events).toBeGreaterThan(0);
      expect(changedNothing(replay)).toBe(true);
      expect(replay.accounts.rekeyed).toBe(0);
      expect(await dumpDistrict(byEvents, district)).toEqual(dump);
    } finally {
      await byEvents.close();
      await byFull.close();
    }
  });

  it('with holdRekeys, a mass re-key holds the events run as it holds the full one; approval applies it', async () => {
    const [byEvents, byFull] = await twoSynced(dbs, sim, district, { holdRekeys: true });
    try {
      const [day] = sim.advance(1, 'rekey');
      const ev = await syncSim(byEvents, sim, { kind: 'events' });
      expect(ev.kind?.kind).toBe('events');
      const full = await syncSim(byFull, sim, { kind: 'full' });
      expect(full.status).toBe('held');
      expect(ev.status).toBe('held');
      expect(ev.reason).toBe(full.reason);
      expect(ev.reason).toMatch(/would re-key/);
      expect(ev.pending).toEqual(full.pending);
      expect(await dumpDistrict(byEvents, district)).toEqual(await dumpDistrict(byFull, district));

      const approvedEv = await approveRun(byEvents, ev.runId);
      const approvedFull = await approveRun(byFull, full.runId);
      expect(approvedEv.counts.accounts).toEqual(approvedFull.counts.accounts);
      expect(approvedEv.counts.accounts).toMatchObject({ rekeyed: day!.rekeyed.length, deactivated: 0 });
      await expectSameStore(byEvents, byFull, district);
    } finally {
      await byEvents.close();
      await byFull.close();
    }
  });

  it('a create read on an earlier page of the run than its delete is a re-key too', async () => {
    const [byEvents, byFull] = await twoSynced(dbs, sim, district);
    try {
      const [day] = sim.advance(1, 'rekey');
      const ev = await eventsRun(byEvents, simSource(sim, { createsFirst: 40 }));
      expect(ev.stats.pages).toBeGreaterThan(3);
      const full = await syncSim(byFull, sim, { kind: 'full' });
      expect(ev.status, ev.reason ?? '').toBe('succeeded');
      expect(ev.accounts).toEqual(full.accounts);
      expect(ev.accounts).toMatchObject({ rekeyed: day!.rekeyed.length, deactivated: 0, conflicts: 0 });
      expect(rekeyedCounts(ev)).toEqual(rekeyedCounts(full));
      await expectSameStore(byEvents, byFull, district);
    } finally {
      await byEvents.close();
      await byFull.close();
    }
  });

  it('an events run that fails after its batches hands its re-keys to the next events run', async () => {
    const [byEvents, byFull] = await twoSynced(dbs, sim, district);
    try {
      const [day] = sim.advance(1, 'rekey');
      const failed = await eventsRun(byEvents, simSource(sim, { failAtEnd: true }));
      expect(failed.status).toBe('failed');
      expect(failed.kind?.kind).toBe('events');

      // The cursor is past the day's events: this run reads none of them again.
      const ev = await syncSim(byEvents, sim, { kind: 'events' });
      expect(ev.kind?.kind).toBe('events');
      expect(ev.status, ev.reason ?? '').toBe('succeeded');
      expect(ev.accounts).toMatchObject({ rekeyed: day!.rekeyed.length, deactivated: 0 });
      expect((await syncSim(byFull, sim, { kind: 'full' })).status).toBe('succeeded');
      await expectSameStore(byEvents, byFull, district);
    } finally {
      await byEvents.close();
      await byFull.close();
    }
  });
});

describeEachDatabase('a delete whose create comes in a later events run', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 53, students: 200 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  it('a create whose old record is not deleted in the run is a conflict, reported, as in a full sync', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(store, sim, { kind: 'full' })).status).toBe('succeeded');
      const [day] = sim.advance(1, 'rekey');
      const rekeyed = day!.rekeyed;
      const byOld = await store.accounts.byRecords(
        district,
        'clever',
        rekeyed.map((r) => r.from),
      );
      // The deletes are left out: every old record stays, so each new one is a true duplicate.
      const r = await eventsRun(store, simSource(sim, { withheld: new Set(rekeyed.map((x) => x.from)) }));
      expect(r.status, r.reason ?? '').toBe('succeeded');
      expect(r.accounts).toMatchObject({
        rekeyed: 0,
        deactivated: 0,
        provisioned: 0,
        linked: 0,
        conflicts: rekeyed.length,
      });
      expect(r.counts.students.rekeyed + r.counts.staff.rekeyed).toBe(0);
      const reported = (await store.runs.problems(r.runId, 10_000))
        .filter((p) => p.severity === 'error')
        .map((p) => p.recordId);
      expect(new Set(reported)).toEqual(new Set(rekeyed.map((x) => x.to)));
      for (const x of rekeyed)
        expect(await store.accounts.get(byOld.get(x.from)!.id)).toMatchObject({
          status: 'active',
          recordSourceId: x.from,
        });
      expect(
        (
          await store.accounts.byRecords(
            district,
            'clever',
            rekeyed.map((x) => x.to),
          )
        ).size,
      ).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('deactivates as a delete does; the later create links and reactivates as linking does', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(store, sim, { kind: 'full' })).status).toBe('succeeded');
      const before = (await store.eventCursors.get(district))!.cursor!;
      const [day] = sim.advance(1, 'rekey');
      const rekeyed = day!.rekeyed;
      expect(rekeyed.length).toBeGreaterThan(0);
      const byOld = new Map(
        [
          ...(
            await store.accounts.byRecords(
              district,
              'clever',
              rekeyed.map((r) => r.from),
            )
          ).entries(),
        ].map(([id, a]) => [id, a.id]),
      );
      expect(byOld.size).toBe(rekeyed.length);
      // Few enough people that the safety valve lets the deactivations through.
      const config = (await store.districts.get(district))!.config;
      await store.districts.setConfig(district, {
        ...config,
        safetyValve: { ...config.safetyValve, maxPercent: 100 },
      });

      // This run sees the deletes only.
      const r1 = await eventsRun(store, simSource(sim, { withheld: new Set(rekeyed.map((r) => r.to)) }));
      expect(r1.status, r1.reason ?? '').toBe('succeeded');
      expect(r1.accounts).toMatchObject({ rekeyed: 0, deactivated: rekeyed.length, provisioned: 0 });
      for (const r of rekeyed)
        expect(await store.accounts.get(byOld.get(r.from)!)).toMatchObject({
          status: 'inactive',
          recordSourceId: r.from,
        });

      // A later run brings the creates (the feed read again from before the day: its deletes are
      // already applied and change nothing).
      await store.eventCursors.advance(district, before, 'test');
      const r2 = await eventsRun(store, simSource(sim));
      expect(r2.status, r2.reason ?? '').toBe('succeeded');
      expect(r2.accounts).toMatchObject({
        rekeyed: 0,
        deactivated: 0,
        provisioned: 0,
        conflicts: 0,
        reactivated: rekeyed.length,
      });
      for (const r of rekeyed) {
        const id = byOld.get(r.from)!;
        expect(await store.accounts.get(id)).toMatchObject({ status: 'active', recordSourceId: r.to });
        expect((await store.accounts.bySignInIdentity(district, 'clever_id', r.to)).map((a) => a.id)).toEqual(
          [id],
        );
      }
    } finally {
      await store.close();
    }
  });
});
