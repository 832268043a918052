import { describe, expect, it } from 'vitest';
import type { CleverSimulator, Collection, DayRecord, Role } from 'rostersync/simulator';
import { EVENT_RETENTION_DAYS } from 'rostersync/simulator';
import { dump, get, walk, withSim } from './sim-client.js';
import type { CleverEvent, Dump, Page, Section, Single, User } from './sim-client.js';
import { truthFromDump } from './truth-from-dump.js';

const COLLS: Collection[] = ['schools', 'users', 'sections', 'terms', 'courses'];

function diff(
  before: Dump,
  after: Dump,
): Record<'created' | 'updated' | 'deleted', Record<Collection, string[]>> {
  const out = { created: {}, updated: {}, deleted: {} } as Record<
    'created' | 'updated' | 'deleted',
    Record<Collection, string[]>
  >;
  for (const c of COLLS) {
    const b = before[c];
    const a = after[c];
    out.created[c] = [...a.keys()].filter((id) => !b.has(id)).sort();
    out.deleted[c] = [...b.keys()].filter((id) => !a.has(id)).sort();
    out.updated[c] = [...a.keys()].filter((id) => b.has(id) && b.get(id) !== a.get(id)).sort();
  }
  return out;
}

function expectRecordMatches(rec: DayRecord, before: Dump, after: Dump): void {
  const d = diff(before, after);
  for (const kind of ['created', 'updated', 'deleted'] as const) {
    for (const c of COLLS)
      expect([...rec[kind][c]].sort(), `${kind} ${c} on day ${rec.day}`).toEqual(d[kind][c]);
  }
  // usersByRole lists each user under each role it held.
  for (const kind of ['created', 'updated', 'deleted'] as const) {
    const src = kind === 'deleted' ? before : after;
    const expected: Record<string, string[]> = {
      student: [],
      teacher: [],
      staff: [],
      district_admin: [],
      contact: [],
    };
    for (const id of rec[kind].users)
      for (const r of Object.keys((JSON.parse(src.users.get(id)!) as User).roles)) expected[r]!.push(id);
    for (const r of Object.keys(expected))
      expect([...rec.usersByRole[kind][r as Role]].sort()).toEqual(expected[r]!.sort());
  }
}

async function checkDay(
  sim: CleverSimulator,
  kind: DayRecord['kind'],
): Promise<{ rec: DayRecord; before: Dump; after: Dump }> {
  const before = await dump(sim, sim.token);
  const [rec] = sim.advance(1, kind);
  const after = await dump(sim, sim.token);
  expectRecordMatches(rec!, before, after);
  expect(sim.truth()).toEqual(truthFromDump(after));
  return { rec: rec!, before, after };
}

function total(rec: DayRecord, kind: 'created' | 'updated' | 'deleted'): number {
  return COLLS.reduce((n, c) => n + rec[kind][c].length, 0);
}

describe('change days', () => {
  it('truth() matches a full walk of a fresh district (with and without quirks)', async () => {
    for (const quirks of [true, false]) {
      await withSim({ students: 230, seed: 11, quirks, contactsPerStudent: 1.5 }, async (sim) => {
        expect(sim.truth()).toEqual(truthFromDump(await dump(sim, sim.token)));
      });
    }
  });

  it('normal days: the DayRecord is exactly the served diff, events carry it, truth stays exact', async () => {
    await withSim({ students: 300, seed: 5, contactsPerStudent: 1.5 }, async (sim) => {
      for (let day = 1; day <= 4; day++) {
        const beforeV30 = await dump(sim, sim.token, 'v3.0');
        const { rec, before, after } = await checkDay(sim, 'normal');
        expect(rec.day).toBe(day);
        expect(rec.kind).toBe('normal');
        // A normal day has new students (with contacts), withdrawals, edits and section changes.
        expect(rec.created.users.length).toBeGreaterThan(0);
        expect(rec.deleted.users.length).toBeGreaterThan(0);
        expect(rec.updated.users.length).toBeGreaterThan(0);
        expect(rec.updated.sections.length).toBeGreaterThan(0);
        expect(rec.usersByRole.created.contact.length).toBeGreaterThan(0);
        if (day === 1) expect(rec.usersByRole.deleted.teacher.length).toBe(1);

        // The events of that day, in both versions, say the same thing.
        for (const v of ['v3.0', 'v3.1'] as const) {
          const all = (await walk<CleverEvent>(sim, `/${v}/events?limit=1000`, sim.token)).items;
          const today = all.filter((e) =>
            e.created.startsWith(new Date(Date.UTC(2025, 7, 1 + day)).toISOString().slice(0, 10)),
          );
          expect(today.length).toBe(total(rec, 'created') + total(rec, 'updated') + total(rec, 'deleted'));
          const bv = v === 'v3.1' ? before : beforeV30;
          for (const e of today) {
            const [coll, action] = e.type.split('.') as [Collection, string];
            const obj = e.data.object;
            expect(rec[action as 'created'][coll]).toContain(obj.id);
            if (v === 'v3.1') {
              if (action === 'deleted') expect(JSON.stringify(obj)).toBe(before[coll].get(obj.id));
              else expect(JSON.stringify(obj)).toBe(after[coll].get(obj.id));
            }
            if (action === 'updated') {
              const prevState = JSON.parse(bv[coll].get(obj.id) ?? 'null') as Record<string, unknown> | null;
              const pa = e.data.previous_attributes ?? {};
              expect(Object.keys(pa).length).toBeGreaterThan(0);
              for (const [k, val] of Object.entries(pa)) expect(val).toEqual(prevState?.[k] ?? null);
              expect(pa).toHaveProperty('last_modified');
            } else {
              expect(e.data.previous_attributes).toBeUndefined();
            }
          }
        }
      }
    });
  });

  it('new and withdrawn students show up in the relationship endpoints', async () => {
    await withSim({ students: 300, seed: 8 }, async (sim) => {
      const [rec] = sim.advance(1);
      const created = rec!.usersByRole.created.student[0]!;
      const gone = rec!.usersByRole.deleted.student[0]!;
      expect((await get(sim, `/v3.0/users/${gone}`, sim.token)).status).toBe(404);
      const u = await get<Single<User>>(sim, `/v3.0/users/${created}`, sim.token);
      expect(u.status).toBe(200);
      const secs = await get<Page<Section>>(sim, `/v3.0/users/${created}/sections`, sim.token);
      expect(secs.body.data.length).toBe(4);
      for (const s of secs.body.data) {
        expect(s.data.students).toContain(created);
        expect(s.data.school).toBe(u.body.data.roles.student!.school);
      }
      const contacts = await get(sim, `/v3.0/users/${created}/mycontacts`, sim.token);
      expect(contacts.body.data.length).toBeGreaterThanOrEqual(1);
      for (const c of contacts.body.data) expect(rec!.created.users).toContain(c.data.id);
      const sections = await walk<Section>(sim, '/v3.0/sections?limit=10000', sim.token);
      for (const s of sections.items) expect(s.students).not.toContain(gone);
    });
  });

  it('rollover: terms and sections replaced, grades promoted, the top grade graduates', async () => {
    await withSim({ students: 260, seed: 21 }, async (sim) => {
      const { rec, before, after } = await checkDay(sim, 'rollover');
      expect(rec.kind).toBe('rollover');
      expect(rec.deleted.terms.sort()).toEqual([...before.terms.keys()].sort());
      expect(rec.created.terms.sort()).toEqual([...after.terms.keys()].sort());
      expect(rec.deleted.sections.length).toBe(before.sections.size);
      expect(rec.created.sections.length).toBe(after.sections.size);
      expect(rec.created.sections.some((id) => before.sections.has(id))).toBe(false);
      const order = ['Kindergarten', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
      let promoted = 0;
      for (const [id, json] of before.users) {
        const u = JSON.parse(json);
        if (!u.roles.student) continue;
        const g = u.roles.student.grade as string;
        if (g === '12') {
          expect(after.users.has(id)).toBe(false);
          expect(rec.deleted.users).toContain(id);
        } else {
          const a = JSON.parse(after.users.get(id)!);
          expect(order.indexOf(a.roles.student.grade)).toBe(order.indexOf(g) + 1);
          // Promotion out of an elementary school moves the student to the next school of the chain.
          if (g === '5') expect(a.roles.student.school).not.toBe(u.roles.student.school);
          promoted++;
        }
      }
      expect(promoted).toBeGreaterThan(0);
      expect(rec.updated.users.length).toBe(promoted);
      // A new kindergarten intake arrives.
      const kinder = rec.usersByRole.created.student.map(
        (id) => (JSON.parse(after.users.get(id)!) as User).roles.student!.grade,
      );
      expect(kinder.length).toBeGreaterThan(0);
      expect(new Set(kinder)).toEqual(new Set(['Kindergarten']));
      // Normal life continues in the new year, exactly recorded.
      await checkDay(sim, 'normal');
    });
  });

  it('normal days then rollover then normal days stay exact (overlays survive the year change)', async () => {
    await withSim({ students: 240, seed: 3, contactsPerStudent: 1.3 }, async (sim) => {
      sim.advance(3);
      await checkDay(sim, 'rollover');
      await checkDay(sim, 'normal');
      await checkDay(sim, 'normal');
    });
  });

  it('bad_sharing: all schools but one disappear with their users and sections', async () => {
    await withSim({ students: 300, seed: 9 }, async (sim) => {
      sim.advance(2);
      const { rec, before, after } = await checkDay(sim, 'bad_sharing');
      expect(after.schools.size).toBe(1);
      expect(rec.deleted.schools.length).toBe(before.schools.size - 1);
      const kept = [...after.schools.keys()][0]!;
      for (const json of after.sections.values()) expect(JSON.parse(json).school).toBe(kept);
      for (const json of after.users.values()) {
        const roles = JSON.parse(json).roles;
        for (const r of ['student', 'teacher']) if (roles[r]) expect(roles[r].school).toBe(kept);
      }
      expect(rec.deleted.sections.length).toBeGreaterThan(0);
      expect(rec.usersByRole.deleted.student.length).toBeGreaterThan(0);
      expect(rec.usersByRole.deleted.contact.length).toBeGreaterThan(0);
      // District admins and the schoolless staff member stay.
      expect(after.users.size).toBeGreaterThan(0);
      await checkDay(sim, 'normal');
      await checkDay(sim, 'rollover');
    });
  });

  it('rekey: a tenth of students and teachers come back under new ids, the same people, in order', async () => {
    await withSim({ students: 400, seed: 13, contactsPerStudent: 1.5 }, async (sim) => {
      sim.advance(1);
      const { rec, before, after } = await checkDay(sim, 'rekey');
      expect(rec.kind).toBe('rekey');
      const students = rec.rekeyed.filter((r) => r.roles.includes('student'));
      const teachers = rec.rekeyed.filter((r) => r.roles.includes('teacher'));
      expect(students.length).toBeGreaterThan(20);
      expect(teachers.length).toBeGreaterThan(0);
      expect([...rec.deleted.users].sort()).toEqual(rec.rekeyed.map((r) => r.from).sort());
      expect([...rec.created.users].sort()).toEqual(rec.rekeyed.map((r) => r.to).sort());
      // The same person: everything but the id is what it was.
      for (const r of rec.rekeyed) {
        const was = JSON.parse(before.users.get(r.from)!) as User & Record<string, unknown>;
        const now = JSON.parse(after.users.get(r.to)!) as User & Record<string, unknown>;
        expect({ ...now, id: was.id }).toEqual(was);
      }
      // Sections and contacts name the new ids and no old one.
      const gone = new Set(rec.rekeyed.map((r) => r.from));
      for (const json of after.sections.values()) {
        const sec = JSON.parse(json) as Section;
        for (const id of [...sec.students, ...sec.teachers]) expect(gone.has(id)).toBe(false);
      }
      expect(rec.updated.sections.length).toBeGreaterThan(0);
      expect(rec.usersByRole.updated.contact.length).toBeGreaterThan(0);
      // Paging walks ids in order (the walk above would have lost or repeated records otherwise).
      const ids = (await walk<User>(sim, '/v3.0/users?limit=37', sim.token)).items.map((u) => u.id);
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      // Events: a delete and a create per person.
      const events = (await walk<CleverEvent>(sim, '/v3.0/events?limit=1000&record_type=users', sim.token))
        .items;
      const today = events.filter((e) => e.created.startsWith('2025-08-03'));
      for (const r of rec.rekeyed) {
        expect(today.some((e) => e.type === 'users.deleted' && e.data.object.id === r.from)).toBe(true);
        expect(today.some((e) => e.type === 'users.created' && e.data.object.id === r.to)).toBe(true);
      }
      // Life goes on under the new ids.
      await checkDay(sim, 'normal');
      await checkDay(sim, 'rekey');
      await checkDay(sim, 'rollover');
    });
  });

  it('events are paged like lists and drop off after 30 days', async () => {
    await withSim({ students: 60, seed: 4 }, async (sim) => {
      sim.advance(1);
      const first = await get<Page<CleverEvent>>(sim, '/v3.0/events?limit=1', sim.token);
      const firstId = first.body.data[0]!.data.id;
      expect((await get(sim, `/v3.0/events/${firstId}`, sim.token)).status).toBe(200);
      const last = await get<Page<CleverEvent>>(sim, '/v3.0/events?ending_before=last&limit=1', sim.token);
      expect(last.status).toBe(200);
      expect(last.body.data.length).toBe(1);
      // Walking with small pages in both directions yields the same ordered ids.
      const fwd = (await walk(sim, '/v3.0/events?limit=3', sim.token)).items.map((e) => e.id);
      expect(fwd.length).toBeGreaterThan(3);
      expect([...fwd].sort()).toEqual(fwd);
      expect(fwd.at(-1)).toBe(last.body.data[0]!.data.id);
      const after = await walk(sim, `/v3.0/events?limit=2&starting_after=${fwd[1]}`, sim.token);
      expect(after.items.map((e) => e.id)).toEqual(fwd.slice(2));
      // record_type filter.
      const sections = (
        await walk<CleverEvent>(sim, '/v3.0/events?limit=100&record_type=sections', sim.token)
      ).items;
      expect(sections.every((e) => e.type.startsWith('sections.'))).toBe(true);

      sim.advance(EVENT_RETENTION_DAYS - 1);
      expect((await get(sim, `/v3.0/events/${firstId}`, sim.token)).status).toBe(200);
      sim.advance(1);
      expect((await get(sim, `/v3.0/events/${firstId}`, sim.token)).status).toBe(404);
      const feed = await get<Page<CleverEvent>>(sim, '/v3.0/events?limit=1', sim.token);
      const head = feed.body.data[0]!.data;
      expect(head.id > firstId).toBe(true);
      expect(head.created.startsWith('2025-08-03')).toBe(true);
      // A cursor older than the window simply continues at the start of the retained feed.
      const stale = await get<Page<CleverEvent>>(
        sim,
        `/v3.0/events?limit=1&starting_after=${firstId}`,
        sim.token,
      );
      expect(stale.body.data[0]!.data.id).toBe(head.id);
    });
  });

  it('advance over HTTP returns the records and truth over HTTP matches truth()', async () => {
    await withSim({ students: 120, seed: 2 }, async (sim) => {
      const res = await fetch(`${sim.url}/__sim/advance?days=2&kind=normal`, { method: 'POST' });
      expect(res.status).toBe(200);
      const recs = (await res.json()) as DayRecord[];
      expect(recs.map((r) => r.day)).toEqual([1, 2]);
      const t = await fetch(`${sim.url}/__sim/truth`);
      expect(await t.json()).toEqual(sim.truth());
      const bad = await fetch(`${sim.url}/__sim/advance?kind=holiday`, { method: 'POST' });
      expect(bad.status).toBe(400);
    });
  });
});
