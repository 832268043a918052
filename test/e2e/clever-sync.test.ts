import { afterAll, beforeAll, expect, it } from 'vitest';
import { changedNothing, getStatus, Store } from 'rostersync';
import { startCleverSimulator } from 'rostersync/simulator';
import type { CleverSimulator, DayRecord } from 'rostersync/simulator';
import { openDatabase } from '../../src/store/db.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim } from '../helpers/sync.js';

const STAFF_ROLES = ['teacher', 'staff', 'district_admin'] as const;

/** Distinct staff people among a day's user ids (a multi-role person is listed under each role). */
function staffIds(day: DayRecord, kind: 'created' | 'updated' | 'deleted'): Set<string> {
  return new Set(STAFF_ROLES.flatMap((r) => day.usersByRole[kind][r]));
}

describeEachDatabase('Clever sync end to end', (dbs) => {
  let sim: CleverSimulator;
  let store: Store;
  let district: string;
  let location: string;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 7, students: 1500 });
    location = await dbs.fresh();
    store = await Store.open({ location });
  });
  afterAll(async () => {
    await store.close();
    await sim.close();
  });

  it('a full sync stores exactly what the simulator serves and provisions an account per person', async () => {
    const truth = sim.truth();
    const report = await syncSim(store, sim);
    expect(report.status).toBe('succeeded');
    district = report.district!;
    const c = report.counts;
    expect(c.schools.created).toBe(truth.schools);
    expect(c.terms.created).toBe(truth.terms);
    expect(c.courses.created).toBe(truth.courses);
    expect(c.sections.created).toBe(truth.sections);
    expect(c.students.created).toBe(truth.students);
    expect(c.staff.created).toBe(truth.staffPeople);
    expect(c.contacts.created).toBe(truth.contacts);
    expect(report.accounts.provisioned).toBe(truth.students + truth.staffPeople);

    const status = (await getStatus(store, { district })).districts[0]!;
    expect(status.totals).toMatchObject({
      schools: truth.schools,
      sections: truth.sections,
      students: truth.students,
      staff: truth.staffPeople,
      contacts: truth.contacts,
      staffByRole: { teacher: truth.teachers, staff: truth.staff, district_admin: truth.districtAdmins },
      enrollments: { students: truth.studentEnrollments, teachers: truth.teacherEnrollments },
    });
    expect(status.accounts.student.active).toBe(truth.students);
    expect(status.accounts.staff.active).toBe(truth.staffPeople);
    // A multi-role person is one staff account carrying all roles.
    const staff = await store.accounts.list({ district, kind: 'staff', limit: 10_000 });
    expect(staff.filter((a) => a.roles.length > 1)).toHaveLength(truth.multiRoleStaff);
    expect(staff.find((a) => a.roles.includes('district_admin'))?.access?.type).toBe('district');
  });

  it('a second identical sync changes nothing and writes nothing to the feed', async () => {
    const seq = await store.changeFeed.lastSeq();
    const before = await dumpDistrict(store, district);
    const report = await syncSim(store, sim);
    expect(report.status).toBe('succeeded');
    expect(changedNothing(report)).toBe(true);
    const truth = sim.truth();
    expect(report.counts.students.unchanged).toBe(truth.students);
    // Every user and section was recognised by its item's bytes and not decoded.
    expect(report.stats.undecoded).toBe(truth.students + truth.staffPeople + truth.contacts + truth.sections);
    expect(await store.changeFeed.lastSeq()).toBe(seq);
    expect(await dumpDistrict(store, district)).toEqual(before);
    // Each stream's checkpoint says this run read all of it.
    const checkpoints = await store.checkpoints.list(district);
    expect(checkpoints.map((c) => c.stream).sort()).toEqual(
      ['courses', 'schools', 'sections', 'terms', 'users:contact', 'users:staff', 'users:student'].sort(),
    );
    for (const c of checkpoints) expect(c).toMatchObject({ runId: report.runId, complete: true });
    expect(checkpoints.reduce((n, c) => n + c.pages, 0)).toBe(report.stats.pages);
  });

  it("records stored without their item's raw hash get it from a re-sync that writes nothing else", async () => {
    // As rows written before migration 0005 are: no raw hash, no scope.
    const database = openDatabase({ location });
    try {
      await database.db
        .updateTable('students')
        .set({ raw_hash: null, scope_ids: null })
        .where('district_id', '=', district)
        .execute();
    } finally {
      await database.close();
    }
    const truth = sim.truth();
    const before = await dumpDistrict(store, district);
    const scope = { district, source: 'clever' as const };
    const one = (await store.records.list(scope, 'students', { limit: 1 }))[0]!;
    const refill = await syncSim(store, sim);
    expect(refill.status).toBe('succeeded');
    expect(changedNothing(refill)).toBe(true);
    expect(refill.stats.rawRefreshed).toBe(truth.students);
    expect(refill.stats.undecoded).toBe(truth.staffPeople + truth.contacts + truth.sections);
    expect(await dumpDistrict(store, district)).toEqual(before);
    expect(await store.records.get(scope, 'students', one.sourceId)).toEqual(one);
    // The next re-sync decodes none of them, and refreshes nothing.
    const again = await syncSim(store, sim);
    expect(again.stats.rawRefreshed).toBeUndefined();
    expect(again.stats.undecoded).toBe((refill.stats.undecoded as number) + truth.students);
  });

  it('plan shows a change day without writing, then sync reflects it exactly', async () => {
    const [day] = sim.advance(1);
    const before = await dumpDistrict(store, district);
    const plan = await syncSim(store, sim, { mode: 'plan' });
    expect(plan.status).toBe('succeeded');
    expect(await dumpDistrict(store, district)).toEqual(before);

    const report = await syncSim(store, sim);
    expect(report.status).toBe('succeeded');
    expect(plan.counts).toEqual(report.counts);
    const d = day!;
    const c = report.counts;
    expect(c.students.created).toBe(d.usersByRole.created.student.length);
    expect(c.students.updated).toBe(d.usersByRole.updated.student.length);
    expect(c.students.archived).toBe(d.usersByRole.deleted.student.length);
    expect(c.contacts.created).toBe(d.usersByRole.created.contact.length);
    expect(c.contacts.updated).toBe(d.usersByRole.updated.contact.length);
    expect(c.contacts.archived).toBe(d.usersByRole.deleted.contact.length);
    expect(c.staff.created).toBe(staffIds(d, 'created').size);
    expect(c.staff.updated).toBe(staffIds(d, 'updated').size);
    expect(c.staff.archived).toBe(staffIds(d, 'deleted').size);
    expect(c.sections.created).toBe(d.created.sections.length);
    expect(c.sections.updated).toBe(d.updated.sections.length);
    expect(c.sections.archived).toBe(d.deleted.sections.length);
    expect(d.usersByRole.deleted.student.length).toBeGreaterThan(0);

    // Exactly the withdrawn students lost their accounts.
    expect(report.accounts.deactivated).toBe(
      d.usersByRole.deleted.student.length + staffIds(d, 'deleted').size,
    );
    const inactive = await store.accounts.list({
      district,
      kind: 'student',
      status: 'inactive',
      limit: 10_000,
    });
    expect(inactive.map((a) => a.recordSourceId).sort()).toEqual([...d.usersByRole.deleted.student].sort());
    const truth = sim.truth();
    const status = (await getStatus(store, { district })).districts[0]!;
    expect(status.accounts.student.active).toBe(truth.students);
    expect(status.totals.students).toBe(truth.students);
  });

  it('the school filter archives what falls out and restores what comes back', async () => {
    const row = (await store.districts.get(district))!;
    const schools = await store.records.list({ district }, 'schools', { limit: 100 });
    const excluded = schools.slice(0, 2).map((s) => s.sourceId);
    const seq = await store.changeFeed.lastSeq();
    await store.districts.setConfig(district, {
      ...row.config,
      schoolFilter: { mode: 'exclude', ids: excluded, sisIds: [], schoolNumbers: [], namePatterns: [] },
      safetyValve: { maxPercent: 100, minCount: 1_000_000 },
    });
    const out = await syncSim(store, sim);
    expect(out.status).toBe('succeeded');
    expect(out.counts.schools.archived).toBe(2);
    expect(out.counts.students.archived).toBeGreaterThan(0);
    expect(out.counts.sections.archived).toBeGreaterThan(0);
    // No active student is left whose schools are all excluded; staff keep only remaining schools.
    for (const s of await store.records.list({ district }, 'students', { limit: 10_000 })) {
      expect(s.data.schoolIds.some((id) => !excluded.includes(id))).toBe(true);
      expect(excluded).not.toContain(s.data.schoolId);
    }
    for (const s of await store.records.list({ district }, 'staff', { limit: 10_000 })) {
      for (const id of s.data.schoolIds) expect(excluded).not.toContain(id);
    }
    for (const s of await store.records.list({ district }, 'sections', { limit: 10_000 })) {
      expect(excluded).not.toContain(s.data.schoolId);
    }
    expect(out.accounts.deactivated).toBeGreaterThan(0);
    // Accounts follow the records after the filter: one active account per active student.
    const filtered = (await getStatus(store, { district })).districts[0]!;
    expect(filtered.accounts.student.active).toBe(filtered.totals.students);
    expect(filtered.accounts.staff.active).toBe(filtered.totals.staff);

    // Include-only: just one school; then back to everything.
    const keep = schools[2]!.sourceId;
    await store.districts.setConfig(district, {
      ...row.config,
      schoolFilter: { mode: 'include', ids: [keep], sisIds: [], schoolNumbers: [], namePatterns: [] },
      safetyValve: { maxPercent: 100, minCount: 1_000_000 },
    });
    const only = await syncSim(store, sim);
    expect(only.status).toBe('succeeded');
    expect(await store.records.count({ district }, 'schools')).toBe(1);
    for (const s of await store.records.list({ district }, 'students', { limit: 10_000 }))
      expect(s.data.schoolIds).toEqual([keep]);
    const included = (await getStatus(store, { district })).districts[0]!;
    expect(included.accounts.student.active).toBe(included.totals.students);

    await store.districts.setConfig(district, { ...row.config, schoolFilter: null });
    const back = await syncSim(store, sim);
    expect(back.status).toBe('succeeded');
    expect(back.counts.schools.restored).toBe(sim.truth().schools - 1);
    expect(back.counts.students.restored).toBe(
      out.counts.students.archived + only.counts.students.archived - only.counts.students.restored,
    );
    // The same accounts come back (reactivated, not new ones).
    expect(back.accounts.provisioned).toBe(0);
    expect(out.accounts.deactivated + only.accounts.deactivated).toBe(
      only.accounts.reactivated + back.accounts.reactivated,
    );
    const changes = await store.changeFeed.after(seq, { limit: 100_000 });
    const deactivated = new Set(changes.filter((c) => c.kind === 'deactivated').map((c) => c.accountId));
    const reactivated = new Set(changes.filter((c) => c.kind === 'reactivated').map((c) => c.accountId));
    expect(reactivated).toEqual(deactivated);
    const truth = sim.truth();
    const status = (await getStatus(store, { district })).districts[0]!;
    expect(status.totals.students).toBe(truth.students);
    expect(status.accounts.student.active).toBe(truth.students);
  });

  it('a re-sync under new account rules derives accounts again from records it did not decode', async () => {
    const row = (await store.districts.get(district))!;
    const grades = ['09', '10', '11', '12'] as const;
    await store.districts.setConfig(district, {
      ...row.config,
      contractedGrades: [...grades],
      safetyValve: { maxPercent: 100, minCount: 1_000_000 },
    });
    try {
      const report = await syncSim(store, sim);
      expect(report.status).toBe('succeeded');
      expect(changedNothing(report)).toBe(true);
      expect(report.stats.undecoded).toBeGreaterThan(sim.truth().students);
      // The same accounts as a first sync under these rules gives.
      const fresh = await Store.open({ location: await dbs.fresh() });
      try {
        await fresh.districts.ensure(district, 'x');
        const cfg = (await fresh.districts.get(district))!.config;
        await fresh.districts.setConfig(district, { ...cfg, contractedGrades: [...grades] });
        expect((await syncSim(fresh, sim)).status).toBe('succeeded');
        const active = async (s: Store) =>
          (await s.accounts.list({ district, kind: 'student', status: 'active', limit: 10_000 }))
            .map((a) => a.recordSourceId)
            .sort();
        const kept = await active(store);
        expect(kept.length).toBeLessThan(sim.truth().students);
        expect(kept).toEqual(await active(fresh));
        expect(report.accounts.deactivated).toBe(sim.truth().students - kept.length);
      } finally {
        await fresh.close();
      }
    } finally {
      await store.districts.setConfig(district, row.config);
      const back = await syncSim(store, sim);
      expect(back.accounts.reactivated).toBeGreaterThan(0);
    }
  });

  it('an invalid token fails the run with a clear reason and changes nothing', async () => {
    const before = await dumpDistrict(store, district);
    const report = await syncSim(store, sim, { token: 'not-a-valid-token', district });
    expect(report.status).toBe('failed');
    expect(report.reason).toMatch(/^auth: .*token was rejected \(HTTP 401/);
    expect(report.reason).not.toContain('not-a-valid-token');
    expect(await dumpDistrict(store, district)).toEqual(before);
  });

  it('with faults switched on, the store ends equal to the fault-free result', async () => {
    const clean = await Store.open({ location: await dbs.fresh() });
    const faulty = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(clean, sim)).status).toBe('succeeded');
      sim.setFaults({ rate: 0.25, kinds: ['500', '502', '503', '429', 'reset', 'truncated'], seed: 3 });
      const report = await syncSim(faulty, sim);
      sim.setFaults(null);
      expect(report.status).toBe('succeeded');
      expect(report.stats.retries).toBeGreaterThan(0);
      expect(await dumpDistrict(faulty, district)).toEqual(await dumpDistrict(clean, district));
      // A re-sync after a change day, under faults: pages are scanned for unchanged items first,
      // and a cut-off body must be fetched again, not taken for a page of unchanged items.
      sim.advance(1);
      expect((await syncSim(clean, sim)).status).toBe('succeeded');
      sim.setFaults({ rate: 0.25, kinds: ['500', '503', '429', 'reset', 'truncated'], seed: 4 });
      const again = await syncSim(faulty, sim);
      sim.setFaults(null);
      expect(again.status).toBe('succeeded');
      expect(again.stats.retries).toBeGreaterThan(0);
      expect(again.stats.undecoded).toBeGreaterThan(sim.truth().students / 2);
      expect(await dumpDistrict(faulty, district)).toEqual(await dumpDistrict(clean, district));
    } finally {
      sim.setFaults(null);
      await clean.close();
      await faulty.close();
    }
  });

  it('decoding pages on the main thread stores the same as decoding them in the worker', async () => {
    // The sync decodes pages in a worker thread by default; both paths share page-decoder.ts, and
    // the sync must not care which one ran (records, hashes, accounts, scope).
    const inWorker = await Store.open({ location: await dbs.fresh() });
    const inMain = await Store.open({ location: await dbs.fresh() });
    try {
      expect((await syncSim(inWorker, sim)).status).toBe('succeeded');
      const report = await syncSim(inMain, sim, { config: { 'clever.decodeInWorker': false } });
      expect(report.status).toBe('succeeded');
      expect(await dumpDistrict(inMain, district)).toEqual(await dumpDistrict(inWorker, district));
      // And a worker-decoded re-sync of the main-decoded store finds nothing to change, nor does a
      // main-decoded one of the other store, both recognising the same items without decoding them.
      const workerAgain = await syncSim(inMain, sim);
      expect(changedNothing(workerAgain)).toBe(true);
      const mainAgain = await syncSim(inWorker, sim, { config: { 'clever.decodeInWorker': false } });
      expect(changedNothing(mainAgain)).toBe(true);
      expect(mainAgain.stats.undecoded).toBeGreaterThan(sim.truth().students);
      expect(mainAgain.stats.undecoded).toBe(workerAgain.stats.undecoded);
      expect(await dumpDistrict(inWorker, district)).toEqual(await dumpDistrict(inMain, district));
    } finally {
      await inWorker.close();
      await inMain.close();
    }
  });
});
