import { describe, expect, it } from 'vitest';
import { walk, withSim } from './sim-client.js';
import type { School, Section, User } from './sim-client.js';

interface District {
  users: User[];
  sections: Section[];
  schools: School[];
}

async function load(opts: { quirks: boolean; seed: number }): Promise<District> {
  return withSim({ students: 200, ...opts }, async (sim) => ({
    users: (await walk<User>(sim, '/v3.0/users?limit=10000', sim.token)).items,
    sections: (await walk<Section>(sim, '/v3.0/sections?limit=10000', sim.token)).items,
    schools: (await walk<School>(sim, '/v3.0/schools?limit=10000', sim.token)).items,
  }));
}

/** The roles of a user as plain records, for checks by field name. */
function roleRecords(u: User): Array<Record<string, unknown>> {
  return Object.values(u.roles as Record<string, Record<string, unknown> | null>).filter(
    (r): r is Record<string, unknown> => r !== null,
  );
}

const ENUM_FIELDS = ['gender', 'race', 'hispanic_ethnicity', 'ell_status'];
const DOB = /^[1-9]\d?\/[1-9]\d?\/\d{4}$/;
const GRADE_ORDER = ['Kindergarten', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
const DOCUMENTED_USER_KEYS = ['id', 'district', 'email', 'name', 'created', 'last_modified', 'roles'];

function hasNull(o: unknown): boolean {
  return o === null || (typeof o === 'object' && Object.values(o).some((v) => hasNull(v)));
}

/** Every quirk the brief lists, as a predicate over the whole district. */
function quirks(d: District): Record<string, boolean> {
  const students = d.users.filter((u) => u.roles.student);
  const contacts = d.users.filter((u) => u.roles.contact);
  const staffLike = d.users.filter((u) => u.roles.teacher || u.roles.staff || u.roles.district_admin);
  const studentSchool = new Map(students.map((u) => [u.id, u.roles.student!.school]));
  const staffEmails = new Set(staffLike.map((u) => u.email));
  const usedSchools = new Set([
    ...d.users.flatMap((u) =>
      roleRecords(u).flatMap((r) => (Array.isArray(r.schools) ? (r.schools as string[]) : [])),
    ),
    ...d.sections.map((s) => s.school),
  ]);
  return {
    multiRoleStaff: d.users.some((u) => u.roles.teacher && u.roles.staff && u.roles.district_admin),
    studentsWithoutEmail: students.some((u) => u.email === undefined || u.email === null),
    emailSharedByContactAndStaff: contacts.some((c) => c.email && staffEmails.has(c.email)),
    contactWholeNameInLast: contacts.some((c) => c.name.first === '' && / /.test(c.name.last ?? '')),
    emptyStringInEnum: students.some((u) =>
      ENUM_FIELDS.some((f) => (u.roles.student as Record<string, unknown>)[f] === ''),
    ),
    extContent: d.users.some((u) =>
      roleRecords(u).some(
        (r) => typeof r.ext === 'object' && r.ext !== null && Object.keys(r.ext).length > 0,
      ),
    ),
    undocumentedStudentEmail: students.some((u) => 'email' in u.roles.student!),
    unknownTopLevelField: d.users.some((u) => Object.keys(u).some((k) => !DOCUMENTED_USER_KEYS.includes(k))),
    legacyIdOnNonStudentRoles: d.users.some((u) =>
      [u.roles.teacher, u.roles.staff, u.roles.district_admin, u.roles.contact].some((r) => r?.legacy_id),
    ),
    staffWithoutSchools: d.users.some((u) => u.roles.staff && u.roles.staff.schools.length === 0),
    sectionWithOtherSchoolsStudent: d.sections.some((s) =>
      s.students.some((id) => studentSchool.get(id) !== s.school),
    ),
    schoolWithNoUsers: d.schools.some((s) => !usedSchools.has(s.id)),
    leadingZeroIdentifiers: students.some((u) => /^0\d+$/.test(u.roles.student!.student_number ?? '')),
    nullsInNullableFields: students.some((u) => hasNull(u.roles.student)) && contacts.some((c) => hasNull(c)),
  };
}

describe('quirks', () => {
  it('with quirks on, a 200-student district shows every quirk at least once (several seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const q = quirks(await load({ quirks: true, seed }));
      for (const [name, present] of Object.entries(q)) expect(present, `${name} (seed ${seed})`).toBe(true);
    }
  });

  it('with quirks off, the data is clean', async () => {
    const d = await load({ quirks: false, seed: 1 });
    const q = quirks(d);
    for (const [name, present] of Object.entries(q)) expect(present, name).toBe(false);
  });

  it('the data is realistic either way: fitting grades, consistent sections, dob format, names', async () => {
    for (const q of [true, false]) {
      const d = await load({ quirks: q, seed: 4 });
      const schools = new Map(d.schools.map((s) => [s.id, s]));
      const users = new Map(d.users.map((u) => [u.id, u]));
      for (const u of d.users) {
        const st = u.roles.student;
        if (!st) continue;
        const s = schools.get(st.school)!;
        const g = GRADE_ORDER.indexOf(st.grade ?? '');
        expect(g).toBeGreaterThanOrEqual(GRADE_ORDER.indexOf(s.low_grade ?? ''));
        expect(g).toBeLessThanOrEqual(GRADE_ORDER.indexOf(s.high_grade ?? ''));
        expect(st.dob).toMatch(DOB);
        expect(st.schools).toEqual([st.school]);
      }
      expect(
        d.users.some(
          (u) => u.roles.student?.dob?.startsWith('1/') || /\/[1-9]\//.test(u.roles.student?.dob ?? ''),
        ),
      ).toBe(true);
      let fromOwnSchool = 0;
      let enrolments = 0;
      for (const s of d.sections) {
        expect(s.teachers).toContain(s.teacher);
        for (const t of s.teachers) expect(users.get(t)!.roles.teacher!.school).toBe(s.school);
        for (const id of s.students) {
          enrolments++;
          if (users.get(id)!.roles.student!.school === s.school) fromOwnSchool++;
        }
      }
      expect(fromOwnSchool / enrolments).toBeGreaterThan(0.97);
      for (const c of d.users.filter((u) => u.roles.contact)) {
        const rels = c.roles.contact!.student_relationships;
        expect(rels.length).toBeGreaterThan(0);
        for (const r of rels) expect(users.get(r.student)?.roles.student).toBeTruthy();
      }
      const names = d.users.flatMap((u) => [u.name.first, u.name.last]).join(' ');
      expect(names).toMatch(/[^ -~]/);
    }
  });
});
