import { describe, expect, it } from 'vitest';
import { CleverMapper, parseDob } from '../../src/sources/clever/decode/clever-mapper.js';
import { SchoolScope } from '../../src/sync/filter.js';

const mapper = new CleverMapper();

describe('Clever mapping', () => {
  it('parses dob as M/D/YYYY and rejects impossible dates', () => {
    expect(parseDob('2/11/2007')).toBe('2007-02-11');
    expect(parseDob('12/1/2010')).toBe('2010-12-01');
    expect(parseDob('2010-12-01')).toBe('2010-12-01');
    expect(parseDob('2/30/2010')).toBeNull();
    expect(parseDob('13/1/2010')).toBeNull();
    expect(parseDob('yesterday')).toBeNull();
  });

  it('maps a student tolerantly: empty strings, nulls, unknown keys, bad optional values', () => {
    const r = mapper.mapUser({
      id: 'u1',
      district: 'd',
      email: null,
      name: { first: 'Zoë', middle: '', last: "O'Brien" },
      surprise: { extra: true },
      roles: {
        student: {
          school: 's1',
          schools: ['s1', 's2'],
          grade: 'Kindergarten',
          dob: '2/30/2015',
          gender: '',
          race: null,
          ell_status: 'Y',
          student_number: '004512',
          email: 'undocumented@example.org',
        },
      },
    });
    expect(r.problem).toBeUndefined();
    expect(r.records).toHaveLength(1);
    const s = r.records[0]!;
    expect(s.entity).toBe('students');
    expect(s.data).toMatchObject({
      schoolId: 's1',
      schoolIds: ['s1', 's2'],
      grade: 'KG',
      studentNumber: '004512',
    });
    expect(s.data).not.toHaveProperty('dob');
    expect(s.data).not.toHaveProperty('email');
    expect((s.data as { demographics?: unknown }).demographics).toEqual({ ellStatus: 'Y' });
    expect(r.warnings).toEqual([
      expect.objectContaining({ recordId: 'u1', field: 'dob', severity: 'warning' }),
    ]);
    // No names or dates in problems.
    expect(JSON.stringify(r.warnings)).not.toMatch(/Zoë|2015/);
  });

  it('makes one staff person of a multi-role user', () => {
    const r = mapper.mapUser({
      id: 'u2',
      name: { first: 'A', last: 'B' },
      email: 'ab@example.org',
      roles: {
        teacher: { schools: ['s1'], sis_id: 'T1', teacher_number: '77', legacy_id: 'old-t' },
        staff: { schools: ['s2'], staff_id: 'ST1', roles: ['counselor'] },
        district_admin: { title: 'Superintendent', legacy_id: 'old-da' },
      },
    });
    expect(r.records).toHaveLength(1);
    expect(r.records[0]!.data).toMatchObject({
      roles: ['district_admin', 'staff', 'teacher'],
      schoolIds: ['s1', 's2'],
      sisId: 'T1',
      staffId: 'ST1',
      teacherNumber: '77',
      legacyIds: { teacher: 'old-t', district_admin: 'old-da' },
      staffRoleNames: ['counselor'],
    });
  });

  it('keeps a contact whose whole name is in name.last', () => {
    const r = mapper.mapUser({
      id: 'c1',
      name: { first: '', last: 'Maria de la Cruz' },
      roles: {
        contact: {
          student_relationships: [{ student: 'u1', relationship: 'Parent', type: '' }, { student: 'u1' }],
        },
      },
    });
    expect(r.records[0]!.data).toMatchObject({
      name: { last: 'Maria de la Cruz' },
      relationships: [{ studentId: 'u1', relationship: 'Parent' }],
    });
  });

  it('skips records that cannot live without a field, with the id and field', () => {
    expect(mapper.mapUser({ id: 'u3', roles: { student: { grade: '5' } } }).problem).toMatchObject({
      recordId: 'u3',
      field: 'school',
    });
    expect(mapper.mapUser({ name: {} }).problem).toMatchObject({ field: 'id' });
    expect(mapper.mapUser({ id: 'u4', roles: {} }).problem).toMatchObject({ field: 'roles' });
    expect(mapper.mapSection({ id: 'sec', name: 'x' })).toMatchObject({
      ok: false,
      problem: { field: 'school' },
    });
    expect(mapper.mapSchool({ id: 'sch', name: '' })).toMatchObject({
      ok: false,
      problem: { field: 'name' },
    });
  });

  it('lists the primary teacher among the teachers', () => {
    const r = mapper.mapSection({
      id: 'sec',
      school: 's1',
      name: 'Math',
      teacher: 't1',
      teachers: ['t2'],
      students: ['a', 'a', 'b'],
    });
    expect(r.ok && r.data).toMatchObject({
      teacherId: 't1',
      teacherIds: ['t1', 't2'],
      studentIds: ['a', 'b'],
    });
  });
});

describe('school scope', () => {
  const school = (name: string, extra = {}) => ({ name, ...extra });
  it('filters schools by id, sis_id, number and name pattern', () => {
    const scope = new SchoolScope({
      mode: 'exclude',
      ids: ['s1'],
      sisIds: ['SIS2'],
      schoolNumbers: ['003'],
      namePatterns: ['*virtual*'],
    });
    expect(scope.addSchool('s1', school('A'))).toBe(false);
    expect(scope.addSchool('s2', school('B', { sisId: 'SIS2' }))).toBe(false);
    expect(scope.addSchool('s3', school('C', { schoolNumber: '003' }))).toBe(false);
    expect(scope.addSchool('s4', school('Springfield Virtual Academy'))).toBe(false);
    expect(scope.addSchool('s5', school('Lincoln High'))).toBe(true);
  });

  it('trims students and staff to schools in scope', () => {
    const scope = new SchoolScope({
      mode: 'include',
      ids: ['in'],
      sisIds: [],
      schoolNumbers: [],
      namePatterns: [],
    });
    scope.addSchool('in', school('In'));
    scope.addSchool('out', school('Out'));
    const st = { name: {}, schoolId: 'out', schoolIds: ['out', 'in'] };
    expect(scope.student(st)).toEqual({
      kind: 'keep',
      data: { name: {}, schoolId: 'in', schoolIds: ['in'] },
    });
    expect(scope.student({ name: {}, schoolId: 'out', schoolIds: ['out'] })).toEqual({ kind: 'filtered' });
    expect(scope.student({ name: {}, schoolId: 'gone', schoolIds: ['gone'] })).toEqual({
      kind: 'unknown',
      schoolIds: ['gone'],
    });
    const teacher = { name: {}, roles: ['teacher' as const], schoolIds: ['out'] };
    expect(scope.staff(teacher)).toEqual({ kind: 'filtered' });
    expect(scope.staff({ ...teacher, schoolIds: [] })).toMatchObject({ kind: 'keep' });
    expect(scope.staff({ ...teacher, roles: ['district_admin', 'teacher'] })).toMatchObject({
      kind: 'keep',
      data: { schoolIds: [] },
    });
  });
});
