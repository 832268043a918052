import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { CleverSimulator } from 'rostersync/simulator';
import { startCleverSimulator } from 'rostersync/simulator';
import {
  V31_STUDENT_FIELDS,
  countSchema,
  courseSchema,
  districtV30,
  districtV31,
  errorSchema,
  eventSchema,
  listOf,
  schoolSchema,
  sectionV30,
  sectionV31,
  singleOf,
  termSchema,
  userV30,
  userV31,
} from './clever-schemas.js';
import { get, walk } from './sim-client.js';
import type { CleverEvent, Got, Page, Rec, User } from './sim-client.js';

let sim: CleverSimulator;
let clean: CleverSimulator;

beforeAll(async () => {
  const rateLimit = { limit: 100_000, windowMs: 60_000 };
  sim = await startCleverSimulator({ students: 400, seed: 13, contactsPerStudent: 1.6, rateLimit });
  clean = await startCleverSimulator({ students: 150, seed: 13, quirks: false, rateLimit });
  // Events of every kind of day, including updates with previous_attributes.
  for (const s of [sim, clean]) {
    s.advance(2);
    s.advance(1, 'rollover');
    s.advance(1);
    s.advance(1, 'bad_sharing');
  }
});

afterAll(async () => {
  await sim.close();
  await clean.close();
});

function expectValid(schema: z.ZodType, value: unknown, what: string): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: ${r.error.message}\n${JSON.stringify(value).slice(0, 600)}`);
}

const V = ['v3.0', 'v3.1'] as const;

describe('responses match the models of Clever’s OpenAPI files', () => {
  it('list envelopes and every record of every list endpoint, in both versions', async () => {
    for (const s of [sim, clean]) {
      for (const v of V) {
        const v31 = v === 'v3.1';
        const lists: Array<[string, z.ZodType]> = [
          [`/${v}/districts`, v31 ? districtV31 : districtV30],
          [`/${v}/schools?limit=3`, schoolSchema],
          [`/${v}/users?limit=500`, v31 ? userV31 : userV30],
          [`/${v}/sections?limit=200`, v31 ? sectionV31 : sectionV30],
          [`/${v}/terms`, termSchema],
          [`/${v}/courses?limit=5`, courseSchema],
        ];
        for (const [path, item] of lists) {
          let next: string | undefined = path;
          while (next) {
            const r: Got<Page<Rec>> = await get(s, next, s.token);
            expect(r.status).toBe(200);
            expectValid(listOf(item), r.body, next);
            next = r.body.links.find((l) => l.rel === 'next')?.uri;
          }
        }
        const ev = await walk<CleverEvent>(s, `/${v}/events?limit=400`, s.token);
        expect(ev.items.length).toBeGreaterThan(0);
        for (const e of ev.items) expectValid(eventSchema(v31), e, `${v} event ${e.type}`);
        expect(ev.items.some((e) => e.type === 'users.updated')).toBe(true);
        expect(ev.items.some((e) => e.type === 'sections.created')).toBe(true);
        expect(ev.items.some((e) => e.type === 'terms.deleted')).toBe(true);
        expect(ev.items.some((e) => e.type === 'schools.deleted')).toBe(true);
      }
    }
  });

  it('single-object endpoints, relationship lists, counts and errors', async () => {
    for (const v of V) {
      const v31 = v === 'v3.1';
      const user = v31 ? userV31 : userV30;
      const users = (await get<Page<User>>(sim, `/${v}/users?limit=2000`, sim.token)).body.data.map(
        (x) => x.data,
      );
      const student = users.find((u) => u.roles.student)!;
      const teacher = users.find((u) => u.roles.teacher)!;
      const contact = users.find((u) => u.roles.contact)!;
      const firstOf = async (path: string): Promise<Rec> =>
        (await get(sim, path, sim.token)).body.data[0]!.data;
      const section = await firstOf(`/${v}/sections?limit=1`);
      const school = await firstOf(`/${v}/schools?limit=1`);
      const district = await firstOf(`/${v}/districts`);
      const term = await firstOf(`/${v}/terms`);
      const course = await firstOf(`/${v}/courses`);
      const event = await firstOf(`/${v}/events?limit=1`);
      const singles: Array<[string, z.ZodType]> = [
        [`/${v}/users/${student.id}`, user],
        [`/${v}/users/${teacher.id}`, user],
        [`/${v}/users/${contact.id}`, user],
        [`/${v}/sections/${section.id}`, v31 ? sectionV31 : sectionV30],
        [`/${v}/schools/${school.id}`, schoolSchema],
        [`/${v}/districts/${district.id}`, v31 ? districtV31 : districtV30],
        [`/${v}/terms/${term.id}`, termSchema],
        [`/${v}/courses/${course.id}`, courseSchema],
        [`/${v}/sections/${section.id}/school`, schoolSchema],
        [`/${v}/sections/${section.id}/term`, termSchema],
        [`/${v}/sections/${section.id}/course`, courseSchema],
        [`/${v}/events/${event.id}`, eventSchema(v31)],
      ];
      for (const [path, schema] of singles) {
        const r = await get(sim, path, sim.token);
        expect(r.status, path).toBe(200);
        expectValid(singleOf(schema), r.body, path);
      }
      const rels: Array<[string, z.ZodType]> = [
        [`/${v}/users/${student.id}/sections`, v31 ? sectionV31 : sectionV30],
        [`/${v}/users/${student.id}/mycontacts`, user],
        [`/${v}/users/${student.id}/myteachers`, user],
        [`/${v}/users/${teacher.id}/mystudents`, user],
        [`/${v}/users/${contact.id}/mystudents`, user],
        [`/${v}/users/${teacher.id}/schools`, schoolSchema],
        [`/${v}/schools/${school.id}/users?role=student`, user],
        [`/${v}/schools/${school.id}/sections`, v31 ? sectionV31 : sectionV30],
        [`/${v}/schools/${school.id}/terms`, termSchema],
        [`/${v}/schools/${school.id}/courses`, courseSchema],
        [`/${v}/sections/${section.id}/users`, user],
      ];
      for (const [path, schema] of rels) {
        const r = await get(sim, path, sim.token);
        expect(r.status, path).toBe(200);
        expectValid(listOf(schema), r.body, path);
      }
      for (const c of ['districts', 'schools', 'users', 'sections', 'terms', 'courses']) {
        expectValid(countSchema, (await get(sim, `/${v}/${c}?count=true`, sim.token)).body, `${c} count`);
      }
      for (const [path, token] of [
        [`/${v}/users/ffffffffffffffffffffffff`, sim.token],
        [`/${v}/users?limit=20000`, sim.token],
        [`/${v}/users?limit=x`, sim.token],
        [`/${v}/users`, 'wrong'],
      ] as const) {
        const r = await get(sim, path, token);
        expect(r.status).toBeGreaterThanOrEqual(400);
        expectValid(errorSchema, r.body, path);
      }
    }
  });

  it('v3.1 fields appear only on v3.1', async () => {
    const v30 = (await walk<User>(sim, '/v3.0/users?limit=10000', sim.token)).items;
    const v31 = (await walk<User>(sim, '/v3.1/users?limit=10000', sim.token)).items;
    expect(v30.map((u) => u.id)).toEqual(v31.map((u) => u.id));
    for (const u of v30) {
      expect(u).not.toHaveProperty('lms_status');
      if (u.roles.student) for (const f of V31_STUDENT_FIELDS) expect(u.roles.student).not.toHaveProperty(f);
    }
    for (const u of v31) {
      expect(u).toHaveProperty('lms_status');
      if (u.roles.student) for (const f of V31_STUDENT_FIELDS) expect(u.roles.student).toHaveProperty(f);
    }
    // Apart from the v3.1 additions, the two versions serve the same record.
    for (let i = 0; i < v30.length; i++) {
      const b = structuredClone(v31[i]!);
      delete b.lms_status;
      const st = b.roles.student as Record<string, unknown> | undefined;
      if (st) for (const f of V31_STUDENT_FIELDS) delete st[f];
      expect(b).toEqual(v30[i]);
    }
    const s30 = (await get(sim, '/v3.0/sections?limit=50', sim.token)).body.data;
    const s31 = (await get(sim, '/v3.1/sections?limit=50', sim.token)).body.data;
    for (const s of s30) expect(s.data).not.toHaveProperty('lms_status');
    for (const s of s31) expect(s.data).toHaveProperty('lms_status');
    const d30 = (await get(sim, '/v3.0/districts', sim.token)).body.data[0]!.data;
    const d31 = (await get(sim, '/v3.1/districts', sim.token)).body.data[0]!.data;
    for (const f of ['lms_type', 'lms_state', 'last_attendance_sync']) {
      expect(d30).not.toHaveProperty(f);
      expect(d31).toHaveProperty(f);
    }
  });
});

describe('the schemas are not vacuous', () => {
  it('reject values the spec does not allow', async () => {
    const u = (await get<Page<User>>(sim, '/v3.1/users?role=student&limit=1', sim.token)).body.data[0]!.data;
    type Mutable = { id: string; created: string; roles: Record<string, Record<string, unknown>> };
    const bad = (mutate: (x: Mutable) => void): boolean => {
      const copy = structuredClone(u);
      mutate(copy as unknown as Mutable);
      return userV31.safeParse(copy).success;
    };
    expect(bad(() => undefined)).toBe(true);
    expect(bad((x) => (x.roles.student!.dob = '02/11/2007'))).toBe(false);
    expect(bad((x) => (x.roles.student!.gender = 'male'))).toBe(false);
    expect(bad((x) => (x.roles.student!.grade = '14'))).toBe(false);
    expect(bad((x) => (x.roles.student!.frl_status = 'free'))).toBe(false);
    expect(bad((x) => (x.roles.student!.home_language = 'Klingon'))).toBe(false);
    expect(bad((x) => (x.id = 'abc'))).toBe(false);
    expect(bad((x) => (x.roles = {}))).toBe(false);
    expect(bad((x) => (x.created = '2025-08-01'))).toBe(false);
    expect(bad((x) => (x.roles.student!.race = null))).toBe(true);
    expect(bad((x) => (x.roles.student!.race = ''))).toBe(true);
  });
});
