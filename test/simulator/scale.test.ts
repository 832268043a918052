import { describe, expect, it } from 'vitest';
import { startCleverSimulator } from 'rostersync/simulator';
import { get } from './sim-client.js';
import type { Page, Section, User } from './sim-client.js';

const MB = 1024 * 1024;

/** Id of generated user `index` in the block of `sample` (ids end with an 8-hex index; see docs/simulator.md). */
function idAt(sample: string, index: number): string {
  return sample.slice(0, 16) + index.toString(16).padStart(8, '0');
}

describe('a 1,000,000-student district', () => {
  it('is constructed without materialising the district and serves deep pages at any cursor', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const sim = await startCleverSimulator({
      students: 1_000_000,
      seed: 77,
      rateLimit: { limit: 100_000, windowMs: 60_000 },
    });
    try {
      const t = sim.truth();
      expect(t.students).toBe(1_000_000);
      expect(t.contacts).toBe(1_000_000);
      expect(t.teachers).toBe(50_000);
      expect(t.sections).toBe(200_000);

      const first = await get(sim, '/v3.0/users?role=student&limit=1', sim.token);
      const sample = first.body.data[0]!.data.id;
      const cursor = idAt(sample, 777_777);
      const page = await get(sim, `/v3.0/users?limit=1000&starting_after=${cursor}`, sim.token);
      expect(page.status).toBe(200);
      const ids = page.body.data.map((x) => x.data.id);
      expect(ids.length).toBe(1000);
      expect(ids[0]).toBe(idAt(sample, 777_778));
      expect(ids[999]).toBe(idAt(sample, 778_777));
      expect(page.body.links.find((l) => l.rel === 'next')!.uri).toBe(
        `/v3.0/users?limit=1000&starting_after=${ids[999]}`,
      );

      // Backwards from the very end of the students, and deep into contacts, a school and sections.
      const back = await get(
        sim,
        `/v3.0/users?role=student&limit=5&ending_before=${idAt(sample, 999_999)}`,
        sim.token,
      );
      expect(back.body.data.map((x) => x.data.id)).toEqual(
        [999_994, 999_995, 999_996, 999_997, 999_998].map((i) => idAt(sample, i)),
      );
      const contact = (await get(sim, '/v3.0/users?role=contact&limit=1', sim.token)).body.data[0]!.data.id;
      const deepContacts = await get(
        sim,
        `/v3.0/users?role=contact&limit=50&starting_after=${idAt(contact, 654_321)}`,
        sim.token,
      );
      expect(deepContacts.body.data[0]!.data.id).toBe(idAt(contact, 654_322));
      const school = (await get(sim, '/v3.0/schools?limit=1', sim.token)).body.data[0]!.data.id;
      const schoolStudents = await get<Page<User>>(
        sim,
        `/v3.0/schools/${school}/users?role=student&limit=100&starting_after=${idAt(sample, 30_000)}`,
        sim.token,
      );
      expect(schoolStudents.status).toBe(200);
      for (const u of schoolStudents.body.data) expect(u.data.roles.student!.school).toBe(school);
      const section = (await get(sim, '/v3.0/sections?limit=1', sim.token)).body.data[0]!.data.id;
      const deepSections = await get(
        sim,
        `/v3.0/sections?limit=100&starting_after=${idAt(section, 150_000)}`,
        sim.token,
      );
      expect(deepSections.body.data.length).toBe(100);
      const someStudent = await get<Page<Section>>(
        sim,
        `/v3.0/users/${idAt(sample, 512_345)}/sections`,
        sim.token,
      );
      expect(someStudent.body.data.length).toBe(4);
      for (const s of someStudent.body.data) expect(s.data.students).toContain(idAt(sample, 512_345));
      expect((await get<{ count: number }>(sim, '/v3.0/users?count=true', sim.token)).body.count).toBe(
        t.students + t.contacts + t.staffPeople,
      );

      // A normal day stays small.
      const [rec] = sim.advance(1);
      expect(rec!.created.users.length).toBeGreaterThan(0);
      expect(rec!.created.users.length + rec!.deleted.users.length + rec!.updated.users.length).toBeLessThan(
        10_000,
      );
      expect(sim.truth().students).toBe(
        1_000_000 + rec!.usersByRole.created.student.length - rec!.usersByRole.deleted.student.length,
      );

      // Materialising a million students would take gigabytes; the simulator stays in tens of MB.
      const grown = (process.memoryUsage().heapUsed - heapBefore) / MB;
      expect(grown).toBeLessThan(150);
    } finally {
      await sim.close();
    }
  });
});
