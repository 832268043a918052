import { expect, it } from 'vitest';
import type { Entity, Student } from '../../src/model/entities.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator, DayRecord } from '../../src/simulator/index.js';
import type { Source, SourcePage, SourceStream } from '../../src/sources/source.js';
import { Store } from '../../src/store/store.js';
import { approveRun, rejectRun } from '../../src/sync/run-control.js';
import { changedNothing, exitCodeFor } from '../../src/sync/run-report.js';
import { runSync } from '../../src/sync/run-sync.js';
import { getStatus } from '../../src/sync/status.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { syncSim, withSimulator } from '../helpers/sync.js';

/** Every account of the district, by id. */
async function accountsOf(store: Store, district: string): Promise<Map<string, StoredAccount>> {
  const out = new Map<string, StoredAccount>();
  for (let after: string | undefined; ;) {
    const page = await store.accounts.list({ district, limit: 1000, ...(after ? { after } : {}) });
    if (page.length === 0) return out;
    for (const a of page) out.set(a.id, a);
    after = page[page.length - 1]!.id;
  }
}

/** The re-keys of a simulator day, per entity the engine keeps them under. */
function rekeysOf(day: DayRecord): { students: DayRecord['rekeyed']; staff: DayRecord['rekeyed'] } {
  return {
    students: day.rekeyed.filter((r) => r.roles.includes('student')),
    staff: day.rekeyed.filter((r) => !r.roles.includes('student')),
  };
}

/** What must hold once a day's re-keys are applied: every person kept their account, under the new id. */
async function expectRekeyed(
  store: Store,
  district: string,
  day: DayRecord,
  before: Map<string, StoredAccount>,
): Promise<void> {
  const byOldId = new Map([...before.values()].map((a) => [a.recordSourceId, a]));
  const after = await accountsOf(store, district);
  // No account created, none deactivated.
  expect(after.size).toBe(before.size);
  for (const [id, a] of before) expect(after.get(id)?.status, id).toBe(a.status);
  const { students, staff } = rekeysOf(day);
  for (const [entity, list] of [
    ['students', students],
    ['staff', staff],
  ] as Array<[Entity, DayRecord['rekeyed']]>) {
    for (const r of list) {
      const was = byOldId.get(r.from)!;
      expect(was).toBeDefined();
      const now = after.get(was.id)!;
      expect(now.recordSourceId).toBe(r.to);
      expect(now.status).toBe('active');
      // Signs in by the new Clever id, and an old link still lands on the same account.
      expect((await store.accounts.bySignInIdentity(district, 'clever_id', r.to)).map((a) => a.id)).toEqual([
        was.id,
      ]);
      expect((await store.accounts.bySignInIdentity(district, 'clever_id', r.from)).map((a) => a.id)).toEqual(
        [was.id],
      );
      expect(await store.identities.formerOf(was.id)).toContainEqual({ type: 'clever_id', value: r.from });
      const old = await store.records.get({ district, source: 'clever' }, entity, r.from);
      expect(old?.archivedAt).not.toBeNull();
      const neu = await store.records.get({ district, source: 'clever' }, entity, r.to);
      expect(neu?.archivedAt).toBeNull();
    }
  }
  // No active account is left without an active record.
  for (const a of after.values()) {
    if (a.status !== 'active' || a.origin !== 'sync') continue;
    const entity: Entity = a.kind === 'student' ? 'students' : a.kind === 'staff' ? 'staff' : 'contacts';
    const rec = await store.records.get({ district, source: a.recordSource! }, entity, a.recordSourceId!);
    expect(rec?.archivedAt, `${a.kind} account ${a.id}`).toBeNull();
  }
}

/**
 * A synced district of a simulator of its own with `safetyValve.holdRekeys` on: `fn` gets the store, the
 * simulator, the district, its accounts and status totals before anything is re-keyed.
 */
async function withHoldRekeys(
  location: string,
  seed: number,
  fn: (c: {
    store: Store;
    local: CleverSimulator;
    d: string;
    before: Map<string, StoredAccount>;
    totalsBefore: Awaited<ReturnType<typeof getStatus>>['districts'][number]['totals'];
  }) => Promise<void>,
): Promise<void> {
  const store = await Store.open({ location });
  const local = await startCleverSimulator({ seed, students: 500 });
  try {
    const d = local.districts[0]!.id;
    expect((await syncSim(store, local)).status).toBe('succeeded');
    const row = (await store.districts.get(d))!;
    await store.districts.setConfig(d, {
      ...row.config,
      safetyValve: { ...row.config.safetyValve, holdRekeys: true },
    });
    const before = await accountsOf(store, d);
    const totalsBefore = (await getStatus(store, { district: d })).districts[0]!.totals;
    await fn({ store, local, d, before, totalsBefore });
  } finally {
    await store.close();
    await local.close();
  }
}

describeEachDatabase('re-keys: accounts follow a person whose source id changes', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 41, students: 500, contactsPerStudent: 1.5 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  it('10% of students and teachers re-keyed: not held, nobody deactivated or created, counts match the day', async () => {
    const local = await startCleverSimulator({ seed: 43, students: 500, contactsPerStudent: 1.5 });
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const d = local.districts[0]!.id;
      // Guardians too: contacts follow their students.
      expect((await syncSim(store, local)).status).toBe('succeeded');
      await store.districts.setConfig(d, {
        ...(await store.districts.get(d))!.config,
        provisionGuardians: true,
      });
      expect((await syncSim(store, local)).status).toBe('succeeded');
      const before = await accountsOf(store, d);
      const seq = await store.changeFeed.lastSeq();
      const [day] = local.advance(1, 'rekey');
      const { students, staff } = rekeysOf(day!);
      expect(students.length).toBeGreaterThan(10);
      expect(staff.length).toBeGreaterThan(0);

      const plan = await syncSim(store, local, { mode: 'plan' });
      expect(plan.status).toBe('succeeded');
      expect(plan.accounts).toMatchObject({ rekeyed: day!.rekeyed.length, deactivated: 0, conflicts: 0 });

      const report = await syncSim(store, local);
      expect(exitCodeFor(report.status)).toBe(0);
      expect(report.status).toBe('succeeded');
      expect(report.accounts).toMatchObject({
        rekeyed: day!.rekeyed.length,
        deactivated: 0,
        provisioned: 0,
        linked: 0,
        conflicts: 0,
        held: 0,
      });
      expect(report.counts.students.rekeyed).toBe(students.length);
      expect(report.counts.staff.rekeyed).toBe(staff.length);
      expect(report.counts.students.archived).toBe(students.length);
      expect(report.counts.contacts.archived).toBe(0);
      await expectRekeyed(store, d, day!, before);

      const feed = await store.changeFeed.after(seq, { limit: 10_000 });
      expect(feed.filter((c) => c.kind === 'deactivated' || c.kind === 'created')).toEqual([]);
      const rekeyFeed = feed.filter((c) => c.kind === 'rekeyed');
      expect(rekeyFeed.map((c) => c.fields).sort()).toEqual(
        day!.rekeyed.map((r) => [`clever:${r.from}`, `clever:${r.to}`]).sort(),
      );
      // Contacts of re-keyed students now point at the new ids; their guardians kept their accounts.
      const newIds = new Set(students.map((r) => r.to));
      const oldIds = new Set(students.map((r) => r.from));
      const contacts = await store.records.list({ district: d }, 'contacts', { limit: 100_000 });
      const rels = contacts.flatMap((c) => c.data.relationships.map((r) => r.studentId));
      expect(rels.some((id) => newIds.has(id))).toBe(true);
      expect(rels.some((id) => oldIds.has(id))).toBe(false);

      // status counts each person once.
      const status = (await getStatus(store, { district: d })).districts[0]!;
      const truth = local.truth();
      expect(status.totals.students).toBe(truth.students);
      expect(status.accounts.student.active).toBe(truth.students);

      // A second sync changes nothing.
      const again = await syncSim(store, local);
      expect(again.status).toBe('succeeded');
      expect(changedNothing(again)).toBe(true);
      expect(again.accounts).toMatchObject({
        rekeyed: 0,
        provisioned: 0,
        updated: 0,
        deactivated: 0,
        linked: 0,
      });
    } finally {
      await store.close();
      await local.close();
    }
  });

  it('holdRekeys: a mass re-key is held (counted once by status); approval applies it and deactivates no one', async () => {
    await withHoldRekeys(await dbs.fresh(), 47, async ({ store, local, d, before, totalsBefore }) => {
      const seq = await store.changeFeed.lastSeq();
      const [day] = local.advance(1, 'rekey');
      expect(rekeysOf(day!).staff.length).toBeGreaterThan(0);

      const held = await syncSim(store, local);
      expect(held.status).toBe('held');
      expect(exitCodeFor(held.status)).toBe(2);
      expect(held.reason).toMatch(/students: would re-key \d+ of \d+ active/);
      expect(held.reason).not.toMatch(/would deactivate/);
      expect(held.accounts).toMatchObject({ rekeyed: 0, deactivated: 0, conflicts: 0, provisioned: 0 });
      // Nothing moved yet, and status still counts each person once.
      const during = await accountsOf(store, d);
      for (const [id, a] of before)
        expect(during.get(id)).toMatchObject({ status: a.status, recordSourceId: a.recordSourceId });
      const status = (await getStatus(store, { district: d })).districts[0]!;
      expect(status.totals.students).toBe(local.truth().students);
      expect(status.totals).toMatchObject({
        students: totalsBefore.students,
        staff: totalsBefore.staff,
        staffByRole: totalsBefore.staffByRole,
      });

      const approved = await approveRun(store, held.runId);
      expect(approved.status).toBe('succeeded');
      expect(approved.counts.accounts.deactivated).toBe(0);
      expect(approved.counts.accounts.rekeyed).toBe(day!.rekeyed.length);
      expect(approved.counts.entities.students.rekeyed).toBe(rekeysOf(day!).students.length);
      await expectRekeyed(store, d, day!, before);
      const feed = await store.changeFeed.after(seq, { limit: 10_000 });
      expect(feed.filter((c) => c.kind === 'deactivated')).toEqual([]);
      expect((await getStatus(store, { district: d })).districts[0]!.totals.students).toBe(
        local.truth().students,
      );

      const again = await syncSim(store, local);
      expect(again.status).toBe('succeeded');
      expect(changedNothing(again)).toBe(true);
    });
  });

  it('holdRekeys: a rejected mass re-key changes nothing and status still counts each person once; the next run holds it again', async () => {
    await withHoldRekeys(await dbs.fresh(), 48, async ({ store, local, d, before, totalsBefore }) => {
      const [day] = local.advance(1, 'rekey');

      const held = await syncSim(store, local);
      expect(held.status).toBe('held');
      expect((await rejectRun(store, held.runId)).status).toBe('rejected');
      const after = await accountsOf(store, d);
      for (const [id, a] of before)
        expect(after.get(id)).toMatchObject({ status: a.status, recordSourceId: a.recordSourceId });
      expect((await getStatus(store, { district: d })).districts[0]!.totals).toMatchObject({
        students: totalsBefore.students,
        staff: totalsBefore.staff,
        staffByRole: totalsBefore.staffByRole,
      });

      // The next run finds the same people under new ids, and asks again.
      const again = await syncSim(store, local);
      expect(again.status).toBe('held');
      expect((await getStatus(store, { district: d })).districts[0]!.totals.students).toBe(
        totalsBefore.students,
      );
      expect((await approveRun(store, again.runId)).counts.accounts.rekeyed).toBe(day!.rekeyed.length);
      await expectRekeyed(store, d, day!, before);
      expect((await getStatus(store, { district: d })).districts[0]!.totals.students).toBe(
        local.truth().students,
      );
    });
  });

  it('a small re-key passes even with holdRekeys on; without it a mass re-key never holds', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(store, sim)).status).toBe('succeeded');
      const row = (await store.districts.get(district))!;
      await store.districts.setConfig(district, {
        ...row.config,
        safetyValve: { maxPercent: 50, minCount: 10, holdRekeys: true },
      });
      const before = await accountsOf(store, district);
      const [day] = sim.advance(1, 'rekey');
      const r = await syncSim(store, sim);
      expect(r.status).toBe('succeeded');
      expect(r.accounts.rekeyed).toBe(day!.rekeyed.length);
      await expectRekeyed(store, district, day!, before);
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------- conflicts, through the source port

const student = (sis: string, first: string): Student => ({
  name: { first, last: 'Port' },
  schoolId: 'sch-1',
  schoolIds: ['sch-1'],
  grade: '03',
  sisId: sis,
});

const page = (records: SourcePage['records']): SourcePage => ({
  records,
  invalidIds: [],
  problems: [],
  cursor: null,
});

/** District dist-1 with one school and one page of students (an unordered, complete stream). */
function studentsSource(students: Array<{ id: string; data: Student }>): Source {
  const stream = (
    name: string,
    entity: Entity,
    records: SourcePage['records'],
    dependsOn: string[],
  ): SourceStream => ({
    name,
    entities: [entity],
    ordered: false,
    dependsOn,
    // eslint-disable-next-line @typescript-eslint/require-await
    async *pages() {
      yield page(records);
    },
  });
  return {
    kind: 'clever',
    district: () => Promise.resolve({ sourceDistrictId: 'dist-1', data: { name: 'Port District' } }),
    streams: () => [
      stream(
        'schools',
        'schools',
        [{ entity: 'schools', sourceId: 'sch-1', data: { name: 'One School' } }],
        [],
      ),
      stream(
        'students',
        'students',
        students.map((s) => ({ entity: 'students' as const, sourceId: s.id, data: s.data })),
        ['schools'],
      ),
    ],
    stats: () => ({ requests: 0, retries: 0 }),
    close: () => Promise.resolve(),
  };
}

describeEachDatabase('re-keys: what is not one', (dbs) => {
  // Eleven students, so that one removal stays under the safety valve's minimum count.
  const others = Array.from({ length: 11 }, (_, i) => ({ id: `x${i}`, data: student(`X${i}`, `X${i}`) }));

  async function synced(
    students: Array<{ id: string; data: Student }>,
  ): Promise<{ store: Store; district: string }> {
    const store = await Store.open({ location: await dbs.fresh() });
    const r = await runSync({ store, source: studentsSource(students) });
    expect(r.status).toBe('succeeded');
    return { store, district: r.district! };
  }

  it('the old record still present (a true duplicate) is a conflict, as before', async () => {
    const { store, district } = await synced([{ id: 'a1', data: student('S1', 'Ann') }, ...others]);
    try {
      const acct = (await store.accounts.byRecords(district, 'clever', ['a1'])).get('a1')!;
      const r = await runSync({
        store,
        source: studentsSource([
          { id: 'a1', data: student('S1', 'Ann') },
          { id: 'a2', data: student('S1', 'Ann') },
          ...others,
        ]),
      });
      expect(r.status).toBe('succeeded');
      expect(r.accounts).toMatchObject({ conflicts: 1, rekeyed: 0, provisioned: 0, linked: 0 });
      expect(r.problems).toContainEqual(
        expect.objectContaining({
          severity: 'error',
          recordId: 'a2',
          field: 'sis_id',
          reason: expect.stringContaining('a1'),
        }),
      );
      expect(await store.accounts.get(acct.id)).toMatchObject({ status: 'active', recordSourceId: 'a1' });
      expect((await store.accounts.byRecords(district, 'clever', ['a2'])).size).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('two new records with one key are a conflict (and the old one is removed as any absent record)', async () => {
    const { store, district } = await synced([{ id: 'a1', data: student('S1', 'Ann') }, ...others]);
    try {
      const acct = (await store.accounts.byRecords(district, 'clever', ['a1'])).get('a1')!;
      const r = await runSync({
        store,
        source: studentsSource([
          { id: 'a2', data: student('S1', 'Ann') },
          { id: 'a3', data: student('S1', 'Ann') },
          ...others,
        ]),
      });
      expect(r.status).toBe('succeeded');
      expect(r.accounts).toMatchObject({ conflicts: 2, rekeyed: 0, provisioned: 0, deactivated: 1 });
      expect(r.counts.students.rekeyed).toBe(0);
      expect(await store.accounts.get(acct.id)).toMatchObject({ status: 'inactive', recordSourceId: 'a1' });
    } finally {
      await store.close();
    }
  });

  it('a re-key of a person whose account was deactivated reactivates it, as linking does', async () => {
    const { store, district } = await synced([{ id: 'a1', data: student('S1', 'Ann') }, ...others]);
    try {
      const acct = (await store.accounts.byRecords(district, 'clever', ['a1'])).get('a1')!;
      await store.accounts.setStatus([acct.id], 'inactive');
      const r = await runSync({
        store,
        source: studentsSource([{ id: 'a2', data: student('S1', 'Ann') }, ...others]),
      });
      expect(r.status).toBe('succeeded');
      expect(r.accounts).toMatchObject({ conflicts: 0, provisioned: 0, reactivated: 1, deactivated: 0 });
      expect(await store.accounts.get(acct.id)).toMatchObject({ status: 'active', recordSourceId: 'a2' });
      expect(
        (await store.records.get({ district, source: 'clever' }, 'students', 'a1'))?.archivedAt,
      ).not.toBeNull();
      const again = await runSync({
        store,
        source: studentsSource([{ id: 'a2', data: student('S1', 'Ann') }, ...others]),
      });
      expect(changedNothing(again)).toBe(true);
      expect(again.accounts).toMatchObject({ reactivated: 0, deactivated: 0, updated: 0 });
    } finally {
      await store.close();
    }
  });

  it('a one-person re-key through the port: the account follows, the old id still signs in', async () => {
    const { store, district } = await synced([{ id: 'a1', data: student('S1', 'Ann') }, ...others]);
    try {
      const acct = (await store.accounts.byRecords(district, 'clever', ['a1'])).get('a1')!;
      const r = await runSync({
        store,
        source: studentsSource([...others, { id: 'b9', data: student('S1', 'Ann') }]),
      });
      expect(r.status).toBe('succeeded');
      expect(r.accounts).toMatchObject({ rekeyed: 1, conflicts: 0, provisioned: 0, deactivated: 0 });
      expect(await store.accounts.get(acct.id)).toMatchObject({ status: 'active', recordSourceId: 'b9' });
      expect((await store.accounts.bySignInIdentity(district, 'clever_id', 'a1')).map((a) => a.id)).toEqual([
        acct.id,
      ]);
    } finally {
      await store.close();
    }
  });
});
