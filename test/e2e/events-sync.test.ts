import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { approveRun } from '../../src/sync/run-control.js';
import { changedNothing } from '../../src/sync/run-report.js';
import type { RunReport } from '../../src/sync/run-report.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim } from '../helpers/sync.js';

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
  let sim: CleverSimulator;
  let district: string;
  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 19, students: 500 });
    district = sim.districts[0]!.id;
  });
  afterAll(async () => {
    await sim.close();
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
