import { expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { approveRun } from '../../src/sync/run-control.js';
import { changedNothing } from '../../src/sync/run-report.js';
import type { RunReport } from '../../src/sync/run-report.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { killSyncWhen } from '../helpers/spawn-cli.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { simConfig, syncSim, withSimulator } from '../helpers/sync.js';
import { silentLogger } from '../../src/shared/logger.js';
import { syncFromClever } from '../../src/sync/clever-sync.js';

/** The changes a report counts, per entity (created, updated, archived, restored). */
function changes(r: RunReport): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [e, c] of Object.entries(r.counts)) out[e] = [c.created, c.updated, c.archived, c.restored];
  return out;
}

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

describeEachDatabase('an events sync', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 19, students: 500 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  it('applies change days as full syncs of the same days do, replays harmlessly, and is held as a full sync is', async () => {
    const byEvents = await Store.open({ location: await dbs.fresh() });
    const byFull = await Store.open({ location: await dbs.fresh() });
    try {
      const first = await syncSim(byEvents, sim, { kind: 'auto' });
      expect(first.status).toBe('succeeded');
      expect(first.kind).toEqual({
        kind: 'full',
        reason: expect.stringMatching(/no event cursor/) as string,
      });
      expect((await syncSim(byFull, sim, { kind: 'full' })).status).toBe('succeeded');

      for (const kind of ['normal', 'normal', 'rollover', 'normal'] as const) {
        const before = (await byEvents.eventCursors.get(district))!.cursor!;
        const [day] = sim.advance(1, kind);
        const ev = await syncSim(byEvents, sim, { kind: 'auto' });
        expect(ev.kind?.kind, ev.kind?.reason).toBe('events');
        const full = await syncSim(byFull, sim, { kind: 'full' });
        // A rollover graduates a class: both are held alike, and approved.
        expect(ev.status, ev.reason ?? '').toBe(full.status);
        expect(ev.reason).toBe(full.reason);
        expect(ev.pending).toEqual(full.pending);
        if (full.status === 'held') {
          await approveRun(byEvents, ev.runId);
          await approveRun(byFull, full.runId);
        }
        expect(ev.counts.students.created).toBe(day!.usersByRole.created.student.length);
        if (full.status === 'succeeded') {
          expect(changes(ev)).toEqual(changes(full));
          expect(ev.accounts).toEqual(full.accounts);
        }
        const dump = await dumpDistrict(byEvents, district);
        expect(dump).toEqual(await dumpDistrict(byFull, district));
        expect(await feedDump(byEvents, district)).toEqual(await feedDump(byFull, district));

        // The same events again (the cursor put back): nothing changes.
        await byEvents.eventCursors.advance(district, before, 'test');
        const replay = await syncSim(byEvents, sim, { kind: 'events' });
        expect(replay.status).toBe('succeeded');
        expect(replay.stats.events).toBeGreaterThan(0);
        expect(changedNothing(replay)).toBe(true);
        expect(await dumpDistrict(byEvents, district)).toEqual(dump);
      }

      // A bad-sharing day: held by the safety valve, with the same removals pending.
      sim.advance(1, 'bad_sharing');
      const ev = await syncSim(byEvents, sim, { kind: 'events' });
      const full = await syncSim(byFull, sim, { kind: 'full' });
      expect(full.status).toBe('held');
      expect(ev.status).toBe('held');
      expect(ev.reason).toBe(full.reason);
      expect(ev.pending).toEqual(full.pending);
      expect(await dumpDistrict(byEvents, district)).toEqual(await dumpDistrict(byFull, district));
    } finally {
      await byEvents.close();
      await byFull.close();
    }
  });
});

describeEachDatabase('sync --mode auto', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 23, students: 300 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  it('syncs in full without a cursor, on its cadence, after a filter change and past the retention window; by events otherwise', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    const empty = await Store.open({ location: await dbs.fresh() });
    try {
      const none = await syncSim(empty, sim, { kind: 'events' });
      expect(none.status).toBe('failed');
      expect(none.reason).toMatch(/no event cursor/);
      expect(none.kind?.kind).toBe('events');

      expect((await syncSim(store, sim, { kind: 'auto' })).kind?.reason).toMatch(/no event cursor/);
      sim.advance(1);
      const ev = await syncSim(store, sim, { kind: 'auto' });
      expect(ev.kind?.kind).toBe('events');
      expect(ev.status).toBe('succeeded');
      expect((await store.runs.get(ev.runId))?.kind).toEqual(ev.kind);

      const due = await syncSim(store, sim, { kind: 'auto', config: { 'sync.fullSyncEveryDays': 0 } });
      expect(due.kind).toEqual({ kind: 'full', reason: expect.stringMatching(/every 0 days/) as string });

      // A school filter: the next auto run is full; events of the filtered school's records are
      // reported, and leave what a full sync leaves.
      const row = (await store.districts.get(district))!;
      const [, school] = await store.records.list({ district }, 'schools', { active: true, limit: 5 });
      await store.districts.setConfig(district, {
        ...row.config,
        schoolFilter: {
          mode: 'exclude',
          ids: [school!.sourceId],
          sisIds: [],
          schoolNumbers: [],
          namePatterns: [],
        },
      });
      const filtered = await syncSim(store, sim, { kind: 'auto' });
      expect(filtered.kind).toEqual({
        kind: 'full',
        reason: expect.stringMatching(/school filter/) as string,
      });
      if (filtered.status === 'held') await approveRun(store, filtered.runId);
      sim.advance(2);
      const afterFilter = await syncSim(store, sim, { kind: 'auto' });
      expect(afterFilter.kind?.kind).toBe('events');
      expect(afterFilter.status).toBe('succeeded');
      expect(afterFilter.problems.some((p) => /school filter leaves out/.test(p.reason))).toBe(true);
      const check = await syncSim(store, sim, { kind: 'full' });
      expect(check.status).toBe('succeeded');
      expect(changedNothing(check)).toBe(true);

      // A plan in events mode counts what the events sync then does.
      sim.advance(1);
      const plan = await syncSim(store, sim, { mode: 'plan', kind: 'events' });
      expect(plan.kind?.kind).toBe('events');
      const applied = await syncSim(store, sim, { kind: 'events' });
      expect(changes(plan)).toEqual(changes(applied));
      expect(plan.accounts).toEqual(applied.accounts);
      expect(changedNothing(applied)).toBe(false);

      // 40 days without a sync: the cursor left the feed.
      sim.advance(40);
      const gap = await syncSim(store, sim, { kind: 'auto' });
      expect(gap.kind).toEqual({ kind: 'full', reason: expect.stringMatching(/retention/) as string });
      expect((await syncSim(store, sim, { kind: 'events' })).status).toBe('succeeded');
    } finally {
      await store.close();
      await empty.close();
    }
  });

  it('ends in the same store through 5xx, 429, resets and truncated bodies as without them', async () => {
    const faulted = await Store.open({ location: await dbs.fresh() });
    const reference = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(faulted, sim, { kind: 'full' })).status).toBe('succeeded');
      expect((await syncSim(reference, sim, { kind: 'full' })).status).toBe('succeeded');
      sim.advance(2);
      sim.setFaults({ rate: 0.25, kinds: ['500', '502', '503', '429', 'reset', 'truncated'], seed: 3 });
      const ev = await syncSim(faulted, sim, { kind: 'events', config: { 'clever.pageSize': 25 } });
      sim.setFaults(null);
      expect(ev.kind?.kind).toBe('events');
      expect(ev.status, ev.reason ?? '').toBe('succeeded');
      expect(ev.stats.retries).toBeGreaterThan(0);
      const clean = await syncSim(reference, sim, { kind: 'events', config: { 'clever.pageSize': 25 } });
      expect(clean.status).toBe('succeeded');
      expect(clean.stats.retries).toBe(0);
      expect(changes(ev)).toEqual(changes(clean));
      expect(await dumpDistrict(faulted, district)).toEqual(await dumpDistrict(reference, district));
      expect(await feedDump(faulted, district)).toEqual(await feedDump(reference, district));
    } finally {
      sim.setFaults(null);
      await faulted.close();
      await reference.close();
    }
  });

  it('killed between batches, is finished by the next run, ending in the store of an uninterrupted one', async () => {
    const reference = await Store.open({ location: await dbs.fresh() });
    const crashedLocation = await dbs.fresh();
    const crashed = await Store.open({ location: crashedLocation });
    try {
      expect((await syncSim(crashed, sim, { kind: 'full' })).status).toBe('succeeded');
      expect((await syncSim(reference, sim, { kind: 'full' })).status).toBe('succeeded');
      sim.advance(3);
      // Slow the simulator down so the child is surely between pages when it is killed.
      sim.setFaults({ rate: 1, kinds: ['slow'], slowMs: 40 });
      const killed = await killSyncWhen(
        crashed,
        district,
        [
          '--mode',
          'events',
          '--clever-url',
          sim.url,
          '--clever-token',
          sim.token,
          '--database',
          crashedLocation,
          '--page-size',
          '5',
        ],
        (cps) => cps.some((c) => c.stream === 'events' && c.pages >= 3),
      );
      expect(killed).toBeNull();
      sim.setFaults(null);

      const [interrupted] = await crashed.runs.list({ district });
      expect(interrupted?.status).toBe('running');
      expect(interrupted?.kind?.kind).toBe('events');
      // The cursor moved with the batches the killed run committed.
      expect((await crashed.eventCursors.get(district))?.cursorRunId).toBe(interrupted!.id);

      const rerun = await syncSim(crashed, sim, { kind: 'auto' });
      expect(rerun.kind?.kind).toBe('events');
      expect(rerun.status).toBe('succeeded');
      expect((await crashed.runs.get(interrupted!.id))?.reason).toMatch(/interrupted/);
      expect((await syncSim(reference, sim, { kind: 'events' })).status).toBe('succeeded');
      expect(await dumpDistrict(crashed, district)).toEqual(await dumpDistrict(reference, district));
      expect(await feedDump(crashed, district)).toEqual(await feedDump(reference, district));
    } finally {
      sim.setFaults(null);
      await reference.close();
      await crashed.close();
    }
  });

  it('syncs in full when events are not enabled for the app, and refuses an events sync', async () => {
    const off = await startCleverSimulator({ seed: 5, students: 80, events: false });
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const first = await syncSim(store, off, { kind: 'auto' });
      expect(first.status).toBe('succeeded');
      expect(first.kind).toEqual({ kind: 'full', reason: expect.stringMatching(/not enabled/) as string });
      // No event was noted before the walk: the next auto run is full again.
      expect(await store.eventCursors.get(off.districts[0]!.id)).toBeUndefined();
      const second = await syncSim(store, off, { kind: 'auto' });
      expect(second.kind?.kind).toBe('full');
      const asked = await syncSim(store, off, { kind: 'events' });
      expect(asked.status).toBe('failed');
      expect(asked.reason).toMatch(/not enabled/);
    } finally {
      await store.close();
      await off.close();
    }
  });

  it('an events sync that failed between pages leaves its removals to the next one', async () => {
    const failed = await Store.open({ location: await dbs.fresh() });
    const reference = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(failed, sim, { kind: 'full' })).status).toBe('succeeded');
      expect((await syncSim(reference, sim, { kind: 'full' })).status).toBe('succeeded');
      // A rollover's feed begins with every term deleted.
      sim.advance(1, 'rollover');
      const stop = new AbortController();
      const stopped = await syncFromClever({
        store: failed,
        config: simConfig(sim, { 'clever.pageSize': 5 }),
        logger: silentLogger(),
        token: sim.token,
        kind: 'events',
        signal: stop.signal,
        onProgress: (p) => {
          if (p.stream === 'events' && p.pages >= 2) stop.abort();
        },
      });
      expect(stopped.status).toBe('failed');
      expect(stopped.reason).toMatch(/^cancelled/);
      expect((await failed.runs.pendingArchiveCounts(stopped.runId)).terms).toBeGreaterThan(0);

      const next = await syncSim(failed, sim, { kind: 'auto' });
      expect(next.kind?.kind).toBe('events');
      expect(await failed.runs.pendingArchiveCounts(stopped.runId)).toEqual({});
      const clean = await syncSim(reference, sim, { kind: 'events' });
      expect(next.status).toBe(clean.status);
      expect(next.pending).toEqual(clean.pending);
      if (clean.status === 'held') {
        await approveRun(failed, next.runId);
        await approveRun(reference, clean.runId);
      }
      expect(await dumpDistrict(failed, district)).toEqual(await dumpDistrict(reference, district));
      expect(await feedDump(failed, district)).toEqual(await feedDump(reference, district));
    } finally {
      await failed.close();
      await reference.close();
    }
  });

  it('after a run the safety valve held, auto syncs in full', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(store, sim, { kind: 'full' })).status).toBe('succeeded');
      sim.advance(1, 'bad_sharing');
      const held = await syncSim(store, sim, { kind: 'auto' });
      expect(held.kind?.kind).toBe('events');
      expect(held.status).toBe('held');
      const next = await syncSim(store, sim, { kind: 'auto' });
      expect(next.kind).toEqual({ kind: 'full', reason: 'the last sync was held by the safety valve' });
      expect(next.status).toBe('held');
      expect(next.pending).toEqual(held.pending);
    } finally {
      await store.close();
    }
  });
});
