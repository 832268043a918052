import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createManualAccount, removeAccountOverride, setAccountOverride } from '../../src/accounts/manual.js';
import { staffAccess } from '../../src/accounts/derive.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { Staff } from '../../src/model/entities.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { Store } from '../../src/store/store.js';
import { approveRun, rejectRun } from '../../src/sync/run-control.js';
import { getStatus } from '../../src/sync/status.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { dumpDistrict } from '../helpers/store-dump.js';
import { syncSim, withSimulator } from '../helpers/sync.js';

describe('staff access mapping', () => {
  const base: Staff = { name: {}, roles: ['teacher'], schoolIds: ['s1', 's2'] };
  const cfg = districtConfigSchema.parse({});
  it('maps each role', () => {
    expect(staffAccess({ ...base, roles: ['district_admin'], schoolIds: [] }, cfg)).toEqual({
      type: 'district',
      schoolIds: [],
      grades: [],
    });
    expect(staffAccess({ ...base, roles: ['district_admin', 'teacher'] }, cfg).type).toBe('district');
    expect(staffAccess(base, cfg)).toEqual({ type: 'school', schoolIds: ['s1', 's2'], grades: [] });
    expect(staffAccess({ ...base, roles: ['staff'] }, cfg)).toEqual({
      type: 'school',
      schoolIds: ['s1', 's2'],
      grades: [],
    });
    expect(staffAccess({ ...base, roles: ['staff'], schoolIds: [] }, cfg).type).toBe('caseload');
    expect(staffAccess({ ...base, schoolIds: [] }, cfg).type).toBe('caseload');
  });
  it('sends all teachers to caseload when the district asks', () => {
    const c = districtConfigSchema.parse({ access: { allTeachersCaseload: true } });
    expect(staffAccess(base, c).type).toBe('caseload');
    expect(staffAccess({ ...base, roles: ['staff'] }, c).type).toBe('school');
    expect(staffAccess({ ...base, roles: ['district_admin', 'teacher'] }, c).type).toBe('district');
  });
  it('uses an access type the source states', () => {
    expect(staffAccess({ ...base, accessType: 'district', grades: ['09', '10'] }, cfg)).toEqual({
      type: 'district',
      schoolIds: [],
      grades: ['09', '10'],
    });
  });
});

describeEachDatabase('accounts', (dbs) => {
  let sim!: CleverSimulator;
  let district!: string;
  withSimulator({ seed: 21, students: 800 }, (started) => {
    sim = started;
    district = started.districts[0]!.id;
  });

  async function freshStore(): Promise<Store> {
    return Store.open({ location: await dbs.fresh() });
  }

  it('links CSV-era accounts instead of duplicating them; empty identifiers never match; conflicts are reported', async () => {
    // Learn the district's people from a scratch sync.
    const scratch = await freshStore();
    await syncSim(scratch, sim);
    const students = await scratch.records.list({ district }, 'students', { limit: 10_000 });
    const staff = await scratch.records.list({ district }, 'staff', { limit: 10_000 });
    await scratch.close();

    const store = await freshStore();
    try {
      await store.districts.ensure(district, 'Pre-Clever district');
      const csvAccount = async (
        kind: 'student' | 'staff',
        identities: Array<{ type: 'sis_id' | 'email'; value: string }>,
      ) => {
        const id = randomUUID();
        await store.accounts.insert(
          accountWrite(id, {
            district,
            kind,
            recordSource: 'csv',
            recordSourceId: `csv-${id}`,
            name: { last: 'csv' },
            roles: kind === 'staff' ? ['teacher'] : [],
            identities,
          }),
        );
        return id;
      };
      const withSis = students.filter((s) => s.data.sisId).slice(0, 30);
      const linked = new Map<string, string>();
      for (const s of withSis.slice(0, 25))
        linked.set(s.sourceId, await csvAccount('student', [{ type: 'sis_id', value: s.data.sisId! }]));
      // Two accounts hold the sis_id of one student: a conflict, not a guess.
      const contested = withSis[25]!;
      await csvAccount('student', [{ type: 'sis_id', value: contested.data.sisId! }]);
      await csvAccount('student', [{ type: 'sis_id', value: contested.data.sisId! }]);
      // Empty and whitespace identifier values (as a sloppy import might have stored) match nothing.
      const empty = await csvAccount('student', [{ type: 'sis_id', value: '' }]);
      const blank = await csvAccount('student', [{ type: 'sis_id', value: '   ' }]);
      // A staff account known only by email is linked by email.
      const teacher = staff.find(
        (s) => s.data.email && s.data.roles.includes('teacher') && !s.data.roles.includes('district_admin'),
      )!;
      const staffCsv = await csvAccount('staff', [
        { type: 'email', value: teacher.data.email!.toLowerCase() },
      ]);

      const report = await syncSim(store, sim);
      expect(report.status).toBe('succeeded');
      expect(report.accounts.linked).toBe(26);
      expect(report.accounts.conflicts).toBe(1);
      expect(
        report.problems.some(
          (p) =>
            p.recordId === contested.sourceId && p.field === 'sis_id' && /2 accounts hold/.test(p.reason),
        ),
      ).toBe(true);
      expect(report.accounts.provisioned).toBe(students.length + staff.length - 26 - 1);

      for (const [recordId, accountId] of linked) {
        const a = await store.accounts.get(accountId);
        expect(a).toMatchObject({ status: 'active', recordSource: 'clever', recordSourceId: recordId });
        expect(a!.identities).toContainEqual({ type: 'clever_id', value: recordId });
      }
      expect((await store.accounts.get(staffCsv))?.recordSourceId).toBe(teacher.sourceId);
      for (const id of [empty, blank]) expect((await store.accounts.get(id))?.recordSource).toBe('csv');
      expect((await store.accounts.byRecords(district, 'clever', [contested.sourceId])).size).toBe(0);
      // One account per student: no duplicates were created for linked people.
      const all = await store.accounts.list({ district, kind: 'student', limit: 10_000 });
      const perRecord = new Map<string, number>();
      for (const a of all)
        if (a.recordSource === 'clever')
          perRecord.set(a.recordSourceId!, (perRecord.get(a.recordSourceId!) ?? 0) + 1);
      expect([...perRecord.values()].every((n) => n === 1)).toBe(true);
      expect(perRecord.size).toBe(students.length - 1);

      // A second sync is quiet: links are stable, the conflict is reported again, nothing else moves.
      const again = await syncSim(store, sim);
      expect(again.accounts).toMatchObject({ linked: 0, provisioned: 0, updated: 0, conflicts: 1 });
    } finally {
      await store.close();
    }
  });

  it('holds a "bad sharing" day with zero deactivations; approve applies them, reject leaves everything active', async () => {
    const local = await startCleverSimulator({ seed: 33, students: 600 });
    const a = await freshStore();
    const b = await freshStore();
    try {
      const d = local.districts[0]!.id;
      for (const s of [a, b]) expect((await syncSim(s, local)).status).toBe('succeeded');
      const activeBefore = (await getStatus(a, { district: d })).districts[0]!.accounts;
      const seqBefore = await a.changeFeed.lastSeq();
      const [day] = local.advance(1, 'bad_sharing');
      expect(day!.deleted.schools.length).toBeGreaterThan(0);

      const heldA = await syncSim(a, local);
      const heldB = await syncSim(b, local);
      for (const h of [heldA, heldB]) {
        expect(h.status).toBe('held');
        expect(h.reason).toMatch(/safety valve/);
        expect(h.accounts.deactivated).toBe(0);
        expect(h.accounts.held).toBeGreaterThan(0);
        expect(h.pending.students).toBeGreaterThan(0);
        expect(Object.values(h.counts).every((c) => c.archived === 0)).toBe(true);
      }
      expect((await getStatus(a, { district: d })).districts[0]!.accounts).toEqual(activeBefore);
      expect((await a.changeFeed.after(seqBefore)).filter((c) => c.kind === 'deactivated')).toHaveLength(0);

      const approved = await approveRun(a, heldA.runId);
      expect(approved.status).toBe('succeeded');
      expect(approved.resolution).toBe('approved');
      expect(approved.counts.accounts.deactivated).toBe(heldA.accounts.held);
      const afterA = (await getStatus(a, { district: d })).districts[0]!;
      const truth = local.truth();
      expect(afterA.totals.students).toBe(truth.students);
      expect(afterA.accounts.student.active).toBe(truth.students);
      expect(afterA.totals.schools).toBe(truth.schools);

      const before = await dumpDistrict(b, d);
      const rejected = await rejectRun(b, heldB.runId);
      expect(rejected.status).toBe('rejected');
      expect((await getStatus(b, { district: d })).districts[0]!.accounts).toEqual(activeBefore);
      expect(await dumpDistrict(b, d)).toEqual(before);
      await expect(approveRun(b, heldB.runId)).rejects.toThrow(/rejected, not held/);
      // The source is still wrong: the next run is held again.
      expect((await syncSim(b, local)).status).toBe('held');
    } finally {
      await a.close();
      await b.close();
      await local.close();
    }
  });

  it('keeps overrides and manual accounts through syncs; the access switch decides whether local edits stick', async () => {
    const store = await freshStore();
    try {
      await syncSim(store, sim);
      const staffAccounts = await store.accounts.list({ district, kind: 'staff', limit: 10_000 });
      const teacher = staffAccounts.find((x) => x.roles.join() === 'teacher' && x.access?.type === 'school')!;
      await setAccountOverride(store, teacher.id, { title: 'Counselor', accessType: 'district' });
      const manual = await createManualAccount(store, {
        district,
        kind: 'staff',
        name: { first: 'Pat', last: 'Hand' },
        email: 'pat.hand@example.org',
        roles: ['staff'],
        access: { type: 'caseload', schoolIds: [], grades: [] },
      });

      await syncSim(store, sim);
      expect(await store.accounts.get(teacher.id)).toMatchObject({
        title: 'Counselor',
        access: { type: 'district' },
      });
      sim.advance(1);
      await syncSim(store, sim);
      await syncSim(store, sim);
      const t = await store.accounts.get(teacher.id);
      if (t?.status === 'active')
        expect(t).toMatchObject({ title: 'Counselor', access: { type: 'district' } });
      const m = await store.accounts.get(manual.id);
      expect(m).toMatchObject({
        status: 'active',
        origin: 'manual',
        title: null,
        access: { type: 'caseload' },
      });
      expect(m?.updatedAt).toBe(manual.updatedAt);

      // While a sync holds the district, a hand-made account waits for it (a first sync counts on
      // seeing every account it did not write; see RunIdentities).
      expect(await store.locks.acquire(district, 'run-in-progress', 'elsewhere:1', 600_000)).toBe(true);
      await expect(
        createManualAccount(store, {
          district,
          kind: 'staff',
          name: { first: 'Lee', last: 'Later' },
          roles: ['staff'],
        }),
      ).rejects.toThrow(/being synced by run run-in-progress/);
      await store.locks.release(district, 'run-in-progress');
      const later = await createManualAccount(store, {
        district,
        kind: 'staff',
        name: { first: 'Lee', last: 'Later' },
        roles: ['staff'],
      });
      expect(later.origin).toBe('manual');
      expect(await store.locks.holder(district)).toBeUndefined();

      // Removing the override gives the source back its say.
      expect(await removeAccountOverride(store, teacher.id)).toBe(true);
      await syncSim(store, sim);
      if (t?.status === 'active') expect((await store.accounts.get(teacher.id))?.access?.type).toBe('school');

      // Source controls access (default): a local edit of access is re-mapped at the next sync.
      const other = (
        await store.accounts.list({ district, kind: 'staff', status: 'active', limit: 10_000 })
      ).find((x) => x.id !== teacher.id && x.access?.type === 'school')!;
      const edit = async () => {
        const cur = (await store.accounts.get(other.id))!;
        await store.accounts.update(
          { ...cur, access: { type: 'caseload', schoolIds: [], grades: [] } },
          cur.status,
        );
      };
      await edit();
      await syncSim(store, sim);
      expect((await store.accounts.get(other.id))?.access?.type).toBe('school');
      // Switched off: the local edit sticks.
      const row = (await store.districts.get(district))!;
      await store.districts.setConfig(district, {
        ...row.config,
        access: { ...row.config.access, sourceControlsAccess: false },
      });
      await edit();
      await syncSim(store, sim);
      expect((await store.accounts.get(other.id))?.access?.type).toBe('caseload');
    } finally {
      await store.close();
    }
  });

  it('deactivates guardian accounts once guardians are turned off, then passes contacts by', async () => {
    const store = await freshStore();
    try {
      await store.districts.ensure(district, 'x');
      const cfg = (await store.districts.get(district))!.config;
      await store.districts.setConfig(district, { ...cfg, provisionGuardians: true });
      expect((await syncSim(store, sim)).status).toBe('succeeded');
      const guardians = (await getStatus(store, { district })).districts[0]!.accounts.guardian.active;
      expect(guardians).toBeGreaterThan(0);

      await store.districts.setConfig(district, { ...cfg, provisionGuardians: false });
      const off = await syncSim(store, sim);
      expect(off.status).toBe('succeeded');
      expect(off.accounts.deactivated).toBe(guardians);
      const after = (await getStatus(store, { district })).districts[0]!.accounts.guardian;
      expect(after).toMatchObject({ active: 0, inactive: guardians });

      // Nothing is left to look at: a re-sync changes nothing.
      const again = await syncSim(store, sim);
      expect(again.status).toBe('succeeded');
      expect(again.accounts).toMatchObject({ provisioned: 0, deactivated: 0, held: 0, reactivated: 0 });
    } finally {
      await store.close();
    }
  });

  it('provisions only contracted grades and guardians when asked', async () => {
    const store = await freshStore();
    try {
      await store.districts.ensure(district, 'x');
      const cfg = (await store.districts.get(district))!.config;
      await store.districts.setConfig(district, {
        ...cfg,
        contractedGrades: ['09', '10', '11', '12'],
        provisionGuardians: true,
      });
      const report = await syncSim(store, sim);
      expect(report.status).toBe('succeeded');
      const students = await store.records.list({ district }, 'students', { limit: 10_000 });
      const inGrades = students.filter((s) => ['09', '10', '11', '12'].includes(s.data.grade ?? ''));
      expect(report.accounts.notProvisioned).toBe(students.length - inGrades.length);
      const status = (await getStatus(store, { district })).districts[0]!;
      expect(status.accounts.student.active).toBe(inGrades.length);
      expect(status.accounts.guardian.active).toBeGreaterThan(0);
      expect(report.problems.some((p) => p.field === 'grade' && /contracted grades/.test(p.reason))).toBe(
        true,
      );
    } finally {
      await store.close();
    }
  });
});
