import type { Gen } from './district-layout.js';
import { TOP_GRADE } from './district-layout.js';
import type { DistrictModel, Epoch } from './district-model.js';
import { MULTI_ROLE_MOD } from './district-model.js';
import { keyIndex } from './ids.js';
import { studentHasNoEmail, studentNoEmailByKey } from './render.js';
import type { GroundTruth } from './types.js';

// What the API serves right now, as counts, from the layout arithmetic plus the sparse overlays:
// O(generations × blocks + schools + teachers/5 + individual changes). Nothing walks the students.

/** Number of i in [0, n) with i ≡ rem (mod mod). */
function residueBelow(n: number, mod: number, rem: number): number {
  return n > rem ? Math.floor((n - rem - 1) / mod) + 1 : 0;
}

function residueIn(lo: number, hi: number, mod: number, rem: number): number {
  return residueBelow(hi, mod, rem) - residueBelow(lo, mod, rem);
}

function blockServed(m: DistrictModel, gen: Gen, b: number, ep: Epoch): boolean {
  const l = m.layout;
  const grade = l.gradeAtCreation(gen, b) + ep.year - gen.year;
  if (grade < 0 || grade > TOP_GRADE) return false;
  return !ep.unshared.has(l.chainSchool(Math.floor(b / gen.cohorts), grade));
}

export function computeTruth(m: DistrictModel): GroundTruth {
  const D = m.day;
  const ep = m.epochAt(D);
  const year = ep.year;
  const l = m.layout;
  const P = m.periods;
  const shared = m.sharedSchools(D);
  const sectionsOf = (s: number): number => m.school(s).teacherCount * P;

  let students = 0;
  let contacts = 0;
  let noEmail = 0;
  let enrollments = 0;
  const hasSections = (grade: number, chain: number): boolean => {
    const s = l.chainSchool(chain, grade);
    return s >= 0 && m.school(s).teacherCount > 0;
  };
  for (const gen of m.gens) {
    if (gen.day > D) continue;
    for (let b = 0; b < gen.blocks; b++) {
      if (!blockServed(m, gen, b, ep)) continue;
      const lo = l.blockStart(gen, b);
      const hi = l.blockStart(gen, b + 1);
      students += hi - lo;
      contacts += l.contactStart(hi) - l.contactStart(lo);
      if (m.quirks) noEmail += residueIn(lo, hi, 11, 3);
      const grade = l.gradeAtCreation(gen, b) + year - gen.year;
      if (hasSections(grade, Math.floor(b / gen.cohorts))) enrollments += P * (hi - lo);
    }
  }
  // Individually withdrawn generated students inside served blocks, and the contacts they orphaned.
  const orphanCands = new Set<number>();
  for (const [key, day] of m.withdrawn) {
    if (day > D) continue;
    const gen = m.genOf(key);
    if (!gen) continue;
    const i = keyIndex(key);
    const b = l.blockOf(gen, i);
    if (!blockServed(m, gen, b, ep)) continue;
    students--;
    if (studentHasNoEmail(m.quirks, i)) noEmail--;
    const grade = l.gradeAtCreation(gen, b) + year - gen.year;
    if (hasSections(grade, Math.floor(b / gen.cohorts))) enrollments -= P;
    for (const c of m.studentContacts(key)) orphanCands.add(c);
  }
  for (const c of orphanCands) if (!m.contactAlive(c, D)) contacts--;
  for (const rec of m.explicitStudents.values()) {
    if (!m.studentAlive(rec.key, D)) continue;
    students++;
    if (studentNoEmailByKey(m, rec.key)) noEmail++;
    enrollments += m.studentSections(rec.key, D).length;
  }
  for (const c of m.explicitContacts.keys()) if (m.contactAlive(c, D)) contacts++;
  for (const [sec, student] of m.extras(year).bySection) {
    if (m.sectionServed(sec, D) && m.studentAlive(student, D)) enrollments++;
  }

  let teachers = 0;
  let multi = 0;
  let staffBlock = l.schoollessStaff >= 0 ? 1 : 0;
  let sections = 0;
  let coTeaching = 0;
  for (const s of shared) {
    const school = m.school(s);
    const t0 = school.teacherStart;
    const t1 = t0 + school.teacherCount;
    teachers += school.teacherCount;
    if (m.quirks) multi += residueIn(t0, t1, MULTI_ROLE_MOD, 1);
    staffBlock += school.staffCount;
    sections += sectionsOf(s);
    if (school.teacherCount >= 2) {
      for (let t = 2; t < school.teacherCount; t += 5) {
        const sec = m.sectionKey(year, (t0 + t) * P);
        const co = m.sectionCoTeacher(sec);
        if (co >= 0 && m.teacherAlive(co, D) && m.sectionPrimary(sec, D) !== co) coTeaching++;
      }
    }
  }
  for (const [t, day] of m.teacherLeft) {
    if (day > D || !m.schoolShared(l.teacherSchool(t), D)) continue;
    teachers--;
    if (m.isMultiRole(t)) multi--;
  }
  const adminTeacher = m.quirks && l.teachers > 1 && m.teacherAlive(1, D) ? 1 : 0;

  return {
    schools: shared.length,
    terms: m.shape.terms,
    courses: m.shape.courses,
    sections,
    students,
    contacts,
    teachers,
    staff: staffBlock + multi,
    districtAdmins: l.admins + adminTeacher,
    staffPeople: teachers + staffBlock + l.admins,
    studentEnrollments: enrollments,
    teacherEnrollments: sections + coTeaching,
    multiRoleStaff: multi,
    studentsWithoutEmail: noEmail,
    staffWithoutSchools: l.schoollessStaff >= 0 ? 1 : 0,
  };
}
