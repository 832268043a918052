import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CleverSimulator, Role } from 'rostersync/simulator';
import { ROLES, startCleverSimulator } from 'rostersync/simulator';
import { get, linkOf, sorted, walk, walkBack } from './sim-client.js';
import type { ErrorBody, Rec, School, Section, User } from './sim-client.js';

let sim: CleverSimulator;

beforeAll(async () => {
  sim = await startCleverSimulator({
    students: 220,
    seed: 3,
    contactsPerStudent: 1.5,
    rateLimit: { limit: 100_000, windowMs: 60_000 },
  });
  // Some change days first, so paging also crosses deleted records and later creation days.
  sim.advance(2);
  sim.advance(1, 'rollover');
  sim.advance(1);
});

afterAll(async () => {
  await sim.close();
});

describe('cursor paging', () => {
  it('walks every user exactly once, in ascending id order, at limits 1, 7, 100 and 10000', async () => {
    const full = await walk(sim, '/v3.0/users?limit=10000', sim.token);
    const ids = full.items.map((u) => u.id);
    expect(full.pages).toBe(1);
    expect(sorted(ids)).toBe(true);
    const t = sim.truth();
    expect(ids.length).toBe(t.students + t.contacts + t.staffPeople);
    for (const limit of [1, 7, 100]) {
      const w = await walk(sim, `/v3.0/users?limit=${limit}`, sim.token);
      expect(w.items.map((u) => u.id)).toEqual(ids);
      expect(w.pages).toBe(Math.ceil(ids.length / limit));
      expect(w.uris.every((u, i) => u === `/v3.0/users/${ids[i]}`)).toBe(true);
    }
    // The default page size is 100.
    const first = await get(sim, '/v3.0/users', sim.token);
    expect(first.body.data.length).toBe(100);
  });

  it('links are relative, carry the version and the other parameters; next is absent on the last page', async () => {
    const r = await get(sim, '/v3.1/users?role=student&limit=5', sim.token);
    expect(linkOf(r.body, 'self')).toBe('/v3.1/users?role=student&limit=5');
    const last = r.body.data[4]!.data.id;
    expect(linkOf(r.body, 'next')).toBe(`/v3.1/users?role=student&limit=5&starting_after=${last}`);
    expect(linkOf(r.body, 'prev')).toBeUndefined();
    const second = await get(sim, linkOf(r.body, 'next')!, sim.token);
    expect(linkOf(second.body, 'prev')).toBe(
      `/v3.1/users?role=student&limit=5&ending_before=${second.body.data[0]!.data.id}`,
    );
    const all = await walk(sim, '/v3.0/schools?limit=10000', sim.token);
    const lastPage = await get(
      sim,
      `/v3.0/schools?limit=3&starting_after=${all.items.at(-3)!.id}`,
      sim.token,
    );
    expect(lastPage.body.data.length).toBe(2);
    expect(linkOf(lastPage.body, 'next')).toBeUndefined();
    const empty = await get(sim, `/v3.0/schools?starting_after=${all.items.at(-1)!.id}`, sim.token);
    expect(empty.body.data).toEqual([]);
    expect(linkOf(empty.body, 'next')).toBeUndefined();
  });

  it('ending_before walks backwards to the same records', async () => {
    for (const coll of ['users', 'sections']) {
      const ids = (await walk(sim, `/v3.0/${coll}?limit=10000`, sim.token)).items.map((x) => x.id);
      const lastId = ids.at(-1)!;
      const back = await walkBack(sim, `/v3.0/${coll}?limit=7&ending_before=${lastId}`, sim.token);
      expect(back.map((x) => x.id)).toEqual(ids.slice(0, -1));
      const page = await get(sim, `/v3.0/${coll}?limit=3&ending_before=${ids[10]}`, sim.token);
      expect(page.body.data.map((x) => x.data.id)).toEqual(ids.slice(7, 10));
      expect(linkOf(page.body, 'next')).toBe(`/v3.0/${coll}?limit=3&starting_after=${ids[9]}`);
    }
  });

  it('role filters page correctly and partition the users', async () => {
    const all = (await walk<User>(sim, '/v3.0/users?limit=10000', sim.token)).items;
    const byRole = new Map<Role, string[]>();
    for (const role of ROLES) {
      const w = await walk<User>(sim, `/v3.0/users?role=${role}&limit=9`, sim.token);
      const ids = w.items.map((u) => u.id);
      expect(sorted(ids)).toBe(true);
      for (const u of w.items) expect(u.roles[role]).toBeTruthy();
      byRole.set(role, ids);
      const expected = all.filter((u) => u.roles[role]).map((u) => u.id);
      expect(ids).toEqual(expected);
    }
    const t = sim.truth();
    expect(byRole.get('student')!.length).toBe(t.students);
    expect(byRole.get('contact')!.length).toBe(t.contacts);
    expect(byRole.get('teacher')!.length).toBe(t.teachers);
    expect(byRole.get('staff')!.length).toBe(t.staff);
    expect(byRole.get('district_admin')!.length).toBe(t.districtAdmins);
    // A multi-role user shows up under each of its roles.
    const union = new Set([...byRole.values()].flat());
    expect(union.size).toBe(all.length);
    expect((await get(sim, '/v3.0/users?role=parent', sim.token)).status).toBe(400);
  });

  it('relationship endpoints are the exact inverses of the record fields', async () => {
    const users = (await walk<User>(sim, '/v3.1/users?limit=10000', sim.token)).items;
    const sections = (await walk<Section>(sim, '/v3.1/sections?limit=10000', sim.token)).items;
    const schools = (await walk<School>(sim, '/v3.1/schools?limit=10000', sim.token)).items;
    const ids = (path: string): Promise<string[]> =>
      walk<Rec>(sim, path, sim.token).then((w) => w.items.map((x) => x.id));

    for (const school of schools) {
      const expectStudents = users.filter((u) => u.roles.student?.school === school.id).map((u) => u.id);
      expect(await ids(`/v3.1/schools/${school.id}/users?role=student&limit=50`)).toEqual(expectStudents);
      expect(await ids(`/v3.1/schools/${school.id}/users?role=student&primary=true&limit=50`)).toEqual(
        expectStudents,
      );
      const expectTeachers = users
        .filter((u) => u.roles.teacher?.schools.includes(school.id))
        .map((u) => u.id);
      expect(await ids(`/v3.1/schools/${school.id}/users?role=teacher`)).toEqual(expectTeachers);
      const expectStaff = users.filter((u) => u.roles.staff?.schools.includes(school.id)).map((u) => u.id);
      expect(await ids(`/v3.1/schools/${school.id}/users?role=staff`)).toEqual(expectStaff);
      const everyone = await ids(`/v3.1/schools/${school.id}/users?limit=4`);
      expect(everyone).toEqual([...new Set([...expectStudents, ...expectTeachers, ...expectStaff])].sort());
      expect(await ids(`/v3.1/schools/${school.id}/sections?limit=5`)).toEqual(
        sections.filter((s) => s.school === school.id).map((s) => s.id),
      );
    }
    for (const u of users) {
      const mine = await ids(`/v3.1/users/${u.id}/sections`);
      const expected = sections
        .filter((s) => s.students.includes(u.id) || s.teachers.includes(u.id))
        .map((s) => s.id);
      expect(mine, `sections of ${u.id}`).toEqual(expected);
      if (u.roles.student) {
        const contacts = users.filter((c) =>
          c.roles.contact?.student_relationships.some((r) => r.student === u.id),
        );
        expect(await ids(`/v3.1/users/${u.id}/mycontacts`)).toEqual(contacts.map((c) => c.id));
      }
      if (u.roles.contact) {
        expect(await ids(`/v3.1/users/${u.id}/mystudents`)).toEqual(
          u.roles.contact.student_relationships.map((r) => r.student).sort(),
        );
      }
      if (u.roles.teacher) {
        const students = new Set(
          sections.filter((s) => s.teachers.includes(u.id)).flatMap((s) => s.students),
        );
        expect(await ids(`/v3.1/users/${u.id}/mystudents`)).toEqual([...students].sort());
      }
    }
    for (const s of sections.slice(0, 20)) {
      expect(await ids(`/v3.1/sections/${s.id}/users?role=student`)).toEqual(s.students);
      expect(await ids(`/v3.1/sections/${s.id}/users?role=teacher`)).toEqual([...s.teachers].sort());
      expect(await ids(`/v3.1/sections/${s.id}/users`)).toEqual([...s.students, ...s.teachers].sort());
    }
  });

  it('count=true answers {count, links} on the list endpoints that support it', async () => {
    const t = sim.truth();
    const expected: Record<string, number> = {
      users: t.students + t.contacts + t.staffPeople,
      sections: t.sections,
      schools: t.schools,
      terms: t.terms,
      courses: t.courses,
      districts: 1,
    };
    for (const [coll, count] of Object.entries(expected)) {
      const r = await get(sim, `/v3.0/${coll}?count=true`, sim.token);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ count, links: [{ rel: 'self', uri: `/v3.0/${coll}?count=true` }] });
    }
    const notCount = await get(sim, '/v3.0/terms?count=false', sim.token);
    expect(notCount.body.data.length).toBe(t.terms);
  });

  it('rejects bad limits and cursors', async () => {
    expect((await get(sim, '/v3.0/users?limit=10000', sim.token)).status).toBe(200);
    const big = await get<ErrorBody>(sim, '/v3.0/users?limit=10001', sim.token);
    expect(big.status).toBe(413);
    expect(typeof big.body.message).toBe('string');
    for (const bad of ['abc', '0', '-5', '1.5', '']) {
      const r = await get<ErrorBody>(sim, `/v3.0/users?limit=${bad}`, sim.token);
      expect(r.status, `limit=${bad}`).toBe(400);
      expect(typeof r.body.message).toBe('string');
    }
    expect((await get(sim, '/v3.0/users?starting_after=nope', sim.token)).status).toBe(400);
    expect((await get(sim, '/v3.0/users?starting_after=a&ending_before=b', sim.token)).status).toBe(400);
    const r404 = await get<ErrorBody>(sim, '/v3.0/users/000000000000000000000000', sim.token);
    expect(r404.status).toBe(404);
    expect(Object.keys(r404.body)).toEqual(['message']);
    expect((await get(sim, '/v3.0/nothing', sim.token)).status).toBe(404);
    expect((await get(sim, '/v2.1/users', sim.token)).status).toBe(404);
  });
});
