// Recomputes GroundTruth by reading every served record (only sensible for small districts): the
// independent check of the simulator's arithmetic bookkeeping.
import type { GroundTruth } from 'rostersync/simulator';
import type { Dump, Section, User } from './sim-client.js';

export function truthFromDump(d: Dump): GroundTruth {
  const t: GroundTruth = {
    schools: d.schools.size,
    terms: d.terms.size,
    courses: d.courses.size,
    sections: d.sections.size,
    students: 0,
    contacts: 0,
    teachers: 0,
    staff: 0,
    districtAdmins: 0,
    staffPeople: 0,
    studentEnrollments: 0,
    teacherEnrollments: 0,
    multiRoleStaff: 0,
    studentsWithoutEmail: 0,
    staffWithoutSchools: 0,
  };
  for (const json of d.users.values()) {
    const u = JSON.parse(json) as User;
    const roles = u.roles;
    if (roles.student) {
      t.students++;
      if (u.email === undefined || u.email === null) t.studentsWithoutEmail++;
    }
    if (roles.contact) t.contacts++;
    if (roles.teacher) t.teachers++;
    if (roles.staff) {
      t.staff++;
      if (roles.staff.schools.length === 0) t.staffWithoutSchools++;
    }
    if (roles.district_admin) t.districtAdmins++;
    const staffRoles = [roles.teacher, roles.staff, roles.district_admin].filter(Boolean).length;
    if (staffRoles > 0) t.staffPeople++;
    if (staffRoles > 1) t.multiRoleStaff++;
  }
  for (const json of d.sections.values()) {
    const s = JSON.parse(json) as Section;
    t.studentEnrollments += s.students.length;
    t.teacherEnrollments += s.teachers.length;
  }
  return t;
}
