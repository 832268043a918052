import { DistrictLayout, TOP_GRADE } from './district-layout.js';
import type { Gen, SchoolDef } from './district-layout.js';
import { BLOCK, COLL, IdCodec, keyBlock, keyDay, keyIndex, makeKey } from './ids.js';
import {
  ArraySource,
  ConcatSource,
  FilterSource,
  RangeSource,
  StrideSource,
  emptySource,
} from './key-source.js';
import type { KeySource } from './key-source.js';
import type { DistrictShape } from './options.js';
import { hash2, hashKey, mix32 } from './prng.js';
import type { Role } from './types.js';

// One simulated district: the arithmetic layout plus small, day-stamped overlays.
//
// Every piece of mutable state records the day it took effect, and every query takes an `asOf`
// day. That makes the past renderable ("the record as it was at the end of day d"), which is what
// lazily generated events need: an event stores only (day, collection, key) and renders its
// object on request. Memory therefore grows with the number of individual changes (a few per
// thousand students per normal day), never with district size; rollovers and unsharing are global
// epochs, not per-record writes.

/** A global state change: rollovers bump the year, bad sharing unshares schools. */
export interface Epoch {
  day: number;
  year: number;
  unshared: ReadonlySet<number>;
}

/** A student created on a normal day (new enrolment). */
export interface ExplicitStudent {
  key: number;
  day: number;
  /** Feeder chain; with the grade it determines the school in every year. */
  chain: number;
  gradeAt: number;
  yearAt: number;
  contacts: number[];
}

export interface ExplicitContact {
  key: number;
  day: number;
  students: number[];
}

/** Scratch record filled by DistrictModel.describeStudent. */
export interface StudentFacts {
  createdDay: number;
  yearAt: number;
  gradeAt: number;
  /** Index inside its generation, or -1 for a student created on a normal day. */
  genIndex: number;
  year: number;
  school: number;
  grade: number;
}

export interface CreationDay {
  day: number;
  gen: Gen | null;
  students: number[];
  contacts: number[];
}

interface Stamped<T> {
  day: number;
  value: T;
}

export interface PeriodAssignment {
  year: number;
  period: number;
  section: number;
}

export interface SchoolLayout {
  total: number;
  /** Generation-local index ranges in key order; `local` is the school-local index of `lo`. */
  ranges: Array<{ gen: Gen; lo: number; hi: number; local: number }>;
  /** Rotation between periods (0 in elementary schools: a class keeps its homeroom group). */
  shift: number;
}

export interface QuirkExtras {
  bySection: Map<number, number>;
  byStudent: Map<number, number[]>;
}

/** Rate (per 2^32) of twin pairs sharing their first contact. */
const SIBLING_RATE = Math.floor(0.06 * 2 ** 32);
/** Multi-role quirk: teachers with index ≡ 1 (mod 40) also hold the staff role; teacher 1 is also a district admin. */
export const MULTI_ROLE_MOD = 40;
/** Cross-school quirk: section index ≡ 17 (mod 53) gets a student from another school. */
const EXTRA_MOD = 53;
const EXTRA_REM = 17;
/** Co-teaching: in period 0, a teacher with local index ≡ 2 (mod 5) shares the section with the next one. */
const COTEACH_MOD = 5;
const COTEACH_REM = 2;

export function latestAsOf<T>(list: ReadonlyArray<Stamped<T>> | undefined, asOf: number): T | undefined {
  if (!list) return undefined;
  for (let k = list.length - 1; k >= 0; k--) {
    const e = list[k] as Stamped<T>;
    if (e.day <= asOf) return e.value;
  }
  return undefined;
}

export function lastDayAsOf(days: readonly number[] | undefined, asOf: number): number {
  if (!days) return -1;
  for (let k = days.length - 1; k >= 0; k--) {
    const d = days[k] as number;
    if (d <= asOf) return d;
  }
  return -1;
}

export class DistrictModel {
  readonly layout: DistrictLayout;
  readonly codec: IdCodec;
  readonly salt: number;
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  /** The current (latest) simulated day. */
  day = 0;
  readonly epochs: Epoch[] = [{ day: 0, year: 0, unshared: new Set() }];
  readonly gens: Gen[];
  readonly genByDay = new Map<number, Gen>();
  /** Day on which school year y started (0 for year 0). */
  readonly yearDay: number[] = [0];
  readonly dayYear = new Map<number, number>([[0, 0]]);
  readonly creationDays: CreationDay[];

  readonly withdrawn = new Map<number, number>();
  readonly teacherLeft = new Map<number, number>();
  readonly explicitStudents = new Map<number, ExplicitStudent>();
  readonly explicitContacts = new Map<number, ExplicitContact>();
  readonly gradeOverride = new Map<number, Array<Stamped<{ year: number; grade: number }>>>();
  readonly nameOverride = new Map<number, Array<Stamped<{ first: string; last: string }>>>();
  readonly periodOverride = new Map<number, Array<Stamped<PeriodAssignment>>>();
  /** Sections a student was ever moved into (candidates; the student's assignment decides). */
  readonly sectionMovedIn = new Map<number, Set<number>>();
  readonly sectionTeacher = new Map<number, Array<Stamped<number>>>();
  readonly teacherAssigned = new Map<number, Set<number>>();
  /**
   * Re-keys (see change-days.ts): from `day` on, the person of an old key is served under `key`
   * (block `rekeyed` of that day), with everything else the same; the old key is served no more.
   */
  readonly rekeyedTo = new Map<number, { day: number; key: number }>();
  /** The other way: the key a re-keyed key took over from. */
  readonly rekeyedFrom = new Map<number, number>();
  /** The keys each re-key day created, ascending (for paging). */
  readonly rekeyDays: Array<{ day: number; keys: number[] }> = [];
  /** Days on which a record's served JSON changed through an individual change (drives last_modified). */
  readonly touchedUsers = new Map<number, number[]>();
  readonly touchedSections = new Map<number, number[]>();

  private readonly layoutCache = new Map<number, SchoolLayout>();
  private readonly extrasCache = new Map<number, QuirkExtras>();

  constructor(
    readonly shape: DistrictShape,
    readonly index: number,
    placeName: string,
  ) {
    this.layout = new DistrictLayout(shape);
    this.salt = hash2(mix32(shape.seed), index + 1);
    this.codec = new IdCodec(hash2(shape.seed, 0x51d) & 0xffff, index);
    this.id = this.codec.encode(COLL.district, makeKey(0, 0, 0));
    this.name = `${placeName} Unified School District`;
    this.slug = placeName.toLowerCase().replace(/[^a-z]+/g, '');
    const base = this.layout.baseGen;
    this.gens = [base];
    this.genByDay.set(0, base);
    this.creationDays = [{ day: 0, gen: base, students: [], contacts: [] }];
  }

  get quirks(): boolean {
    return this.shape.quirks;
  }

  get periods(): number {
    return this.layout.periods;
  }

  // ---------------------------------------------------------------- epochs

  epochAt(asOf: number): Epoch {
    for (let k = this.epochs.length - 1; k >= 0; k--) {
      const e = this.epochs[k] as Epoch;
      if (e.day <= asOf) return e;
    }
    return this.epochs[0] as Epoch;
  }

  yearAt(asOf: number): number {
    return this.epochAt(asOf).year;
  }

  schoolShared(school: number, asOf: number): boolean {
    return school >= 0 && school < this.layout.schools.length && !this.epochAt(asOf).unshared.has(school);
  }

  private readonly schoolIds: string[] = [];

  /** Clever id of school `index` (cached: every student and section carries one). */
  schoolId(index: number): string {
    let id = this.schoolIds[index];
    if (id === undefined) {
      id = this.codec.encode(COLL.school, this.schoolKey(index));
      this.schoolIds[index] = id;
    }
    return id;
  }

  school(index: number): SchoolDef {
    const s = this.layout.schools[index];
    if (!s) throw new Error(`no school ${index}`);
    return s;
  }

  // ---------------------------------------------------------------- students

  /** The generation of a generated student key (block 0 of a generation day), if it is one. */
  genOf(key: number): Gen | undefined {
    return this.generated(key, BLOCK.student);
  }

  /**
   * The generation that made `key` as one of its students (block 0) or contacts: the generation of
   * the key's day, when the key's index is within what it made of that block.
   */
  private generated(key: number, block: typeof BLOCK.student | typeof BLOCK.contact): Gen | undefined {
    if (keyBlock(key) !== block) return undefined;
    const gen = this.genByDay.get(keyDay(key));
    if (!gen || keyIndex(key) >= (block === BLOCK.student ? gen.count : gen.contacts)) return undefined;
    return gen;
  }

  isStudentKey(key: number): boolean {
    return this.genOf(key) !== undefined || this.explicitStudents.has(key);
  }

  /** Cohort grade (before corrections) of a student in school year y; NaN for unknown keys. */
  cohortGrade(key: number, year: number): number {
    const gen = this.genOf(key);
    if (gen) {
      const b = this.layout.blockOf(gen, keyIndex(key));
      return this.layout.gradeAtCreation(gen, b) + year - gen.year;
    }
    const rec = this.explicitStudents.get(key);
    return rec ? rec.gradeAt + year - rec.yearAt : NaN;
  }

  studentChain(key: number): number {
    const gen = this.genOf(key);
    if (gen) return Math.floor(this.layout.blockOf(gen, keyIndex(key)) / gen.cohorts);
    return this.explicitStudents.get(key)?.chain ?? -1;
  }

  /** School of a student in school year y, or -1 (graduated, not yet enrolled, unknown). */
  studentSchool(key: number, year: number): number {
    const grade = this.cohortGrade(key, year);
    if (!(grade >= 0 && grade <= TOP_GRADE)) return -1;
    return this.layout.chainSchool(this.studentChain(key), grade);
  }

  studentCreatedDay(key: number): number {
    const gen = this.genOf(key);
    if (gen) return gen.day;
    return this.explicitStudents.get(key)?.day ?? Infinity;
  }

  studentYearAt(key: number): number {
    const gen = this.genOf(key);
    if (gen) return gen.year;
    return this.explicitStudents.get(key)?.yearAt ?? 0;
  }

  studentAlive(key: number, asOf: number): boolean {
    if (asOf < this.studentCreatedDay(key)) return false;
    const ep = this.epochAt(asOf);
    const school = this.studentSchool(key, ep.year);
    if (school < 0 || ep.unshared.has(school)) return false;
    const w = this.withdrawn.get(key);
    return w === undefined || w > asOf;
  }

  /**
   * Everything the renderer needs about a student in one pass over the key (the hot path of
   * /users); false when the student is not served as of `asOf`. Same rules as studentAlive.
   */
  describeStudent(key: number, asOf: number, f: StudentFacts): boolean {
    const l = this.layout;
    const gen = this.genOf(key);
    let chain: number;
    if (gen) {
      const b = l.blockOf(gen, keyIndex(key));
      f.createdDay = gen.day;
      f.yearAt = gen.year;
      f.gradeAt = l.gradeAtCreation(gen, b);
      f.genIndex = keyIndex(key);
      chain = Math.floor(b / gen.cohorts);
    } else {
      const rec = this.explicitStudents.get(key);
      if (!rec) return false;
      f.createdDay = rec.day;
      f.yearAt = rec.yearAt;
      f.gradeAt = rec.gradeAt;
      f.genIndex = -1;
      chain = rec.chain;
    }
    if (asOf < f.createdDay) return false;
    const ep = this.epochAt(asOf);
    const cohort = f.gradeAt + ep.year - f.yearAt;
    if (cohort < 0 || cohort > TOP_GRADE) return false;
    const school = l.chainSchool(chain, cohort);
    if (school < 0 || ep.unshared.has(school)) return false;
    if (this.withdrawn.size > 0) {
      const w = this.withdrawn.get(key);
      if (w !== undefined && w <= asOf) return false;
    }
    f.year = ep.year;
    f.school = school;
    f.grade = cohort;
    if (this.gradeOverride.size > 0) {
      const ov = latestAsOf(this.gradeOverride.get(key), asOf);
      if (ov && ov.year === ep.year) f.grade = ov.grade;
    }
    return true;
  }

  /** Displayed grade: the cohort grade, unless corrected during the current school year. */
  studentGrade(key: number, asOf: number): number {
    const year = this.yearAt(asOf);
    const ov = latestAsOf(this.gradeOverride.get(key), asOf);
    if (ov && ov.year === year) return ov.grade;
    return this.cohortGrade(key, year);
  }

  /** Are the generated students i and i+1 twins sharing their first contact? */
  private siblingPair(gen: Gen, i: number): boolean {
    if (i % 2 !== 0 || i + 1 >= gen.count) return false;
    const l = this.layout;
    if (l.blockOf(gen, i) !== l.blockOf(gen, i + 1)) return false;
    if (l.contactStart(i + 1) <= l.contactStart(i)) return false;
    return hashKey(this.salt ^ 0x5151, makeKey(gen.day, 0, i)) < SIBLING_RATE;
  }

  /** Contact keys of a student (ascending). */
  studentContacts(key: number): number[] {
    const gen = this.genOf(key);
    if (gen) {
      const i = keyIndex(key);
      const l = this.layout;
      const out: number[] = [];
      if (i % 2 === 1 && this.siblingPair(gen, i - 1))
        out.push(makeKey(gen.day, BLOCK.contact, l.contactStart(i - 1)));
      const end = l.contactStart(i + 1);
      for (let j = l.contactStart(i); j < end; j++) out.push(makeKey(gen.day, BLOCK.contact, j));
      return out;
    }
    return this.explicitStudents.get(key)?.contacts ?? [];
  }

  // ---------------------------------------------------------------- contacts

  contactGen(key: number): Gen | undefined {
    return this.generated(key, BLOCK.contact);
  }

  isContactKey(key: number): boolean {
    return this.contactGen(key) !== undefined || this.explicitContacts.has(key);
  }

  /** Every student a contact is linked to (alive or not), ascending; null if not a contact. */
  contactStudents(key: number): number[] | null {
    const gen = this.contactGen(key);
    if (gen) {
      const j = keyIndex(key);
      const i = this.layout.contactOwner(j);
      const out = [makeKey(gen.day, BLOCK.student, i)];
      if (j === this.layout.contactStart(i) && this.siblingPair(gen, i))
        out.push(makeKey(gen.day, BLOCK.student, i + 1));
      return out;
    }
    return this.explicitContacts.get(key)?.students ?? null;
  }

  /** A contact is served while at least one of its students is. */
  contactAlive(key: number, asOf: number): boolean {
    const students = this.contactStudents(key);
    if (!students) return false;
    for (const s of students) if (this.studentAlive(s, asOf)) return true;
    return false;
  }

  // ---------------------------------------------------------------- staff

  teacherIndexOf(key: number): number {
    if (keyDay(key) !== 0 || keyBlock(key) !== BLOCK.teacher) return -1;
    const i = keyIndex(key);
    return i < this.layout.teachers ? i : -1;
  }

  staffIndexOf(key: number): number {
    if (keyDay(key) !== 0 || keyBlock(key) !== BLOCK.staff) return -1;
    const i = keyIndex(key);
    return i < this.layout.staff ? i : -1;
  }

  adminIndexOf(key: number): number {
    if (keyDay(key) !== 0 || keyBlock(key) !== BLOCK.district_admin) return -1;
    const i = keyIndex(key);
    return i < this.layout.admins ? i : -1;
  }

  teacherKey(i: number): number {
    return makeKey(0, BLOCK.teacher, i);
  }

  isMultiRole(teacher: number): boolean {
    return this.quirks && teacher % MULTI_ROLE_MOD === 1;
  }

  hasAdminRole(teacher: number): boolean {
    return this.quirks && teacher === 1;
  }

  teacherAlive(i: number, asOf: number): boolean {
    if (i < 0 || i >= this.layout.teachers) return false;
    const left = this.teacherLeft.get(i);
    if (left !== undefined && left <= asOf) return false;
    return this.schoolShared(this.layout.teacherSchool(i), asOf);
  }

  staffAlive(i: number, asOf: number): boolean {
    if (i < 0 || i >= this.layout.staff) return false;
    const s = this.layout.staffSchool(i);
    return s < 0 || this.schoolShared(s, asOf);
  }

  /** Roles a user key holds (regardless of whether it is served), in Clever's role order. */
  userRoles(key: number): Role[] {
    if (keyBlock(key) === BLOCK.rekeyed) {
      const person = this.personOf(key);
      return person === key ? [] : this.userRoles(person);
    }
    if (this.isStudentKey(key)) return ['student'];
    if (this.isContactKey(key)) return ['contact'];
    const t = this.teacherIndexOf(key);
    if (t >= 0) {
      const roles: Role[] = ['teacher'];
      if (this.isMultiRole(t)) roles.push('staff');
      if (this.hasAdminRole(t)) roles.push('district_admin');
      return roles;
    }
    if (this.staffIndexOf(key) >= 0) return ['staff'];
    if (this.adminIndexOf(key) >= 0) return ['district_admin'];
    return [];
  }

  // ---------------------------------------------------------------- re-keys

  /** The key a person (any of its keys) is served under as of `asOf`. */
  servedKey(key: number, asOf: number): number {
    if (this.rekeyedTo.size === 0) return key;
    let k = key;
    for (let r = this.rekeyedTo.get(k); r !== undefined && r.day <= asOf; r = this.rekeyedTo.get(k))
      k = r.key;
    return k;
  }

  /** The person's first key: the one its facts (names, identifiers, enrolments) are generated from. */
  personOf(key: number): number {
    let k = key;
    for (let from = this.rekeyedFrom.get(k); from !== undefined; from = this.rekeyedFrom.get(k)) k = from;
    return k;
  }

  /** Whether `key` is one a person is served under as of `asOf` (not moved away, not yet created). */
  servedUnder(key: number, asOf: number): boolean {
    if (this.rekeyedTo.size === 0) return keyBlock(key) !== BLOCK.rekeyed;
    if (keyBlock(key) === BLOCK.rekeyed && (!this.rekeyedFrom.has(key) || keyDay(key) > asOf)) return false;
    return this.servedKey(key, asOf) === key;
  }

  userAlive(key: number, asOf: number): boolean {
    if (!this.servedUnder(key, asOf)) return false;
    return this.personAlive(this.personOf(key), asOf);
  }

  /** Whether the person of key `key` (its first key) is served, under whichever key. */
  personAlive(key: number, asOf: number): boolean {
    switch (keyBlock(key)) {
      case BLOCK.student:
        return this.isStudentKey(key) && this.studentAlive(key, asOf);
      case BLOCK.contact:
        return this.contactAlive(key, asOf);
      case BLOCK.teacher:
        return this.teacherAlive(this.teacherIndexOf(key), asOf);
      case BLOCK.staff:
        return this.staffAlive(this.staffIndexOf(key), asOf);
      case BLOCK.district_admin:
        return this.adminIndexOf(key) >= 0;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- school layouts

  /** Students of school s in school year y, as generation index ranges (cached; O(gens × chains)). */
  schoolLayout(s: number, year: number): SchoolLayout {
    const ck = year * 65536 + s;
    let lay = this.layoutCache.get(ck);
    if (lay) return lay;
    const school = this.school(s);
    const l = this.layout;
    const ranges: SchoolLayout['ranges'] = [];
    let total = 0;
    for (const gen of this.gens) {
      if (gen.year > year) continue;
      for (const e of school.chains) {
        // Cohorts of this chain whose grade in `year` falls in the school's range are consecutive.
        let cLo = -1;
        let cHi = -1;
        for (let c = 0; c < gen.cohorts; c++) {
          const grade = l.gradeAtCreation(gen, e * gen.cohorts + c) + year - gen.year;
          if (grade >= school.low && grade <= school.high && l.chainSchool(e, grade) === s) {
            if (cLo < 0) cLo = c;
            cHi = c;
          }
        }
        if (cLo < 0) continue;
        const lo = l.blockStart(gen, e * gen.cohorts + cLo);
        const hi = l.blockStart(gen, e * gen.cohorts + cHi + 1);
        if (hi > lo) {
          ranges.push({ gen, lo, hi, local: total });
          total += hi - lo;
        }
      }
    }
    const secondary = school.level !== 'elementary' && school.level !== 'k12' && school.level !== 'k8';
    const shift = secondary && total > 1 ? (Math.floor(total / (this.periods + 1)) + 1) % total : 0;
    lay = { total, ranges, shift };
    this.layoutCache.set(ck, lay);
    return lay;
  }

  private layoutLocal(lay: SchoolLayout, gen: Gen, i: number): number {
    for (const r of lay.ranges) if (r.gen === gen && i >= r.lo && i < r.hi) return r.local + i - r.lo;
    return -1;
  }

  private layoutKeyRanges(lay: SchoolLayout, from: number, to: number, out: number[][]): void {
    // Maps school-local [from, to) to key ranges [startKey, endKey).
    for (const r of lay.ranges) {
      const a = Math.max(from, r.local);
      const b = Math.min(to, r.local + r.hi - r.lo);
      if (a < b) {
        const base = makeKey(r.gen.day, BLOCK.student, 0) + r.lo - r.local;
        out.push([base + a, base + b]);
      }
    }
  }

  // ---------------------------------------------------------------- sections

  sectionKey(year: number, idx: number): number {
    return makeKey(this.yearDay[year] ?? 0, 0, idx);
  }

  /** { year, teacher (base), period, school } of a section key, or null. */
  decodeSection(key: number): { year: number; teacher: number; period: number; school: number } | null {
    if (keyBlock(key) !== 0) return null;
    const year = this.dayYear.get(keyDay(key));
    if (year === undefined) return null;
    const idx = keyIndex(key);
    const P = this.periods;
    if (idx >= this.layout.teachers * P) return null;
    const teacher = Math.floor(idx / P);
    return { year, teacher, period: idx - teacher * P, school: this.layout.teacherSchool(teacher) };
  }

  sectionServed(key: number, asOf: number): boolean {
    const d = this.decodeSection(key);
    if (!d) return false;
    const ep = this.epochAt(asOf);
    return ep.year === d.year && !ep.unshared.has(d.school);
  }

  /** Primary teacher index of a section. */
  sectionPrimary(key: number, asOf: number): number {
    const ov = latestAsOf(this.sectionTeacher.get(key), asOf);
    if (ov !== undefined) return ov;
    const d = this.decodeSection(key);
    return d ? d.teacher : -1;
  }

  /** The co-teacher of a section by construction (alive or not), or -1. */
  sectionCoTeacher(key: number): number {
    const d = this.decodeSection(key);
    if (!d || d.period !== 0) return -1;
    const s = this.school(d.school);
    const local = d.teacher - s.teacherStart;
    if (s.teacherCount < 2 || local % COTEACH_MOD !== COTEACH_REM) return -1;
    return s.teacherStart + ((local + 1) % s.teacherCount);
  }

  sectionTeachers(key: number, asOf: number): number[] {
    const primary = this.sectionPrimary(key, asOf);
    const co = this.sectionCoTeacher(key);
    const out = [primary];
    if (co >= 0 && co !== primary && this.teacherAlive(co, asOf)) out.push(co);
    return out;
  }

  /** The section a student attends in (year, period), or -1. */
  studentSection(key: number, year: number, period: number, asOf: number): number {
    const list = this.periodOverride.get(key);
    if (list) {
      for (let k = list.length - 1; k >= 0; k--) {
        const e = list[k] as Stamped<PeriodAssignment>;
        if (e.day <= asOf && e.value.year === year && e.value.period === period) return e.value.section;
      }
    }
    const gen = this.genOf(key);
    if (!gen) return -1;
    const s = this.studentSchool(key, year);
    if (s < 0) return -1;
    const school = this.school(s);
    const T = school.teacherCount;
    const lay = this.schoolLayout(s, year);
    const n = lay.total;
    if (T === 0 || n === 0) return -1;
    const li = this.layoutLocal(lay, gen, keyIndex(key));
    if (li < 0) return -1;
    const r = (li + period * lay.shift) % n;
    const t = Math.floor((r * T) / n);
    return this.sectionKey(year, (school.teacherStart + t) * this.periods + period);
  }

  /** Students of a section (ascending keys); [] when the section is not served. */
  sectionStudents(key: number, asOf: number): number[] {
    const d = this.decodeSection(key);
    if (!d || !this.sectionServed(key, asOf)) return [];
    const school = this.school(d.school);
    const lay = this.schoolLayout(d.school, d.year);
    const n = lay.total;
    const T = school.teacherCount;
    const out: number[] = [];
    const hasOverrides = this.periodOverride.size > 0;
    const hasWithdrawn = this.withdrawn.size > 0;
    if (n > 0 && T > 0) {
      const t = d.teacher - school.teacherStart;
      const a = Math.ceil((t * n) / T);
      const b = Math.ceil(((t + 1) * n) / T);
      const start = (((a - d.period * lay.shift) % n) + n) % n;
      const len = b - a;
      const keyRanges: number[][] = [];
      if (start + len <= n) this.layoutKeyRanges(lay, start, start + len, keyRanges);
      else {
        this.layoutKeyRanges(lay, 0, start + len - n, keyRanges);
        this.layoutKeyRanges(lay, start, n, keyRanges);
      }
      for (const [lo, hi] of keyRanges as Array<[number, number]>) {
        for (let k = lo; k < hi; k++) {
          if (hasWithdrawn) {
            const w = this.withdrawn.get(k);
            if (w !== undefined && w <= asOf) continue;
          }
          if (
            hasOverrides &&
            this.periodOverride.has(k) &&
            this.studentSection(k, d.year, d.period, asOf) !== key
          )
            continue;
          out.push(k);
        }
      }
    }
    let sort = false;
    const moved = this.sectionMovedIn.get(key);
    if (moved) {
      for (const k of moved) {
        if (
          this.studentAlive(k, asOf) &&
          this.studentSection(k, d.year, d.period, asOf) === key &&
          !out.includes(k)
        ) {
          out.push(k);
          sort = true;
        }
      }
    }
    const extra = this.extras(d.year).bySection.get(key);
    if (extra !== undefined && this.studentAlive(extra, asOf) && !out.includes(extra)) {
      out.push(extra);
      sort = true;
    }
    if (sort) out.sort((x, y) => x - y);
    return out;
  }

  /** Cross-school quirk for school year y: sections holding one student of another school. */
  extras(year: number): QuirkExtras {
    let ex = this.extrasCache.get(year);
    if (ex) return ex;
    ex = { bySection: new Map(), byStudent: new Map() };
    if (this.quirks && this.yearDay[year] !== undefined) {
      const total = this.layout.teachers * this.periods;
      const schools = this.layout.schools;
      for (let idx = EXTRA_REM; idx < total; idx += EXTRA_MOD) {
        const s = this.layout.teacherSchool(Math.floor(idx / this.periods));
        // The next school (cyclically) that has students this year.
        for (let step = 1; step < schools.length; step++) {
          const other = (s + step) % schools.length;
          const lay = this.schoolLayout(other, year);
          if (lay.total === 0) continue;
          const li = (idx * 7919) % lay.total;
          const kr: number[][] = [];
          this.layoutKeyRanges(lay, li, li + 1, kr);
          const student = kr[0]?.[0];
          if (student === undefined) break;
          const sec = this.sectionKey(year, idx);
          ex.bySection.set(sec, student);
          const list = ex.byStudent.get(student);
          if (list) list.push(sec);
          else ex.byStudent.set(student, [sec]);
          break;
        }
      }
    }
    this.extrasCache.set(year, ex);
    return ex;
  }

  /** Sections a student is enrolled in (served ones, ascending). */
  studentSections(key: number, asOf: number): number[] {
    if (!this.studentAlive(key, asOf)) return [];
    const year = this.yearAt(asOf);
    const out: number[] = [];
    for (let p = 0; p < this.periods; p++) {
      const sec = this.studentSection(key, year, p, asOf);
      if (sec >= 0 && this.sectionServed(sec, asOf) && !out.includes(sec)) out.push(sec);
    }
    for (const sec of this.extras(year).byStudent.get(key) ?? []) {
      if (this.sectionServed(sec, asOf) && !out.includes(sec)) out.push(sec);
    }
    return out.sort((x, y) => x - y);
  }

  /** Sections listing teacher i in `teachers` (served ones, ascending). */
  teacherSections(i: number, asOf: number): number[] {
    if (!this.teacherAlive(i, asOf)) return [];
    const year = this.yearAt(asOf);
    const cands = new Set<number>();
    for (let p = 0; p < this.periods; p++) cands.add(this.sectionKey(year, i * this.periods + p));
    const s = this.school(this.layout.teacherSchool(i));
    if (s.teacherCount >= 2) {
      const prev = s.teacherStart + ((i - s.teacherStart - 1 + s.teacherCount) % s.teacherCount);
      cands.add(this.sectionKey(year, prev * this.periods));
    }
    for (const sec of this.teacherAssigned.get(i) ?? []) cands.add(sec);
    const out: number[] = [];
    for (const sec of cands) {
      if (this.sectionServed(sec, asOf) && this.sectionTeachers(sec, asOf).includes(i)) out.push(sec);
    }
    return out.sort((x, y) => x - y);
  }

  // ---------------------------------------------------------------- key sources (current state)

  private genStudentSource(gen: Gen, lo: number, hi: number, asOf: number, blockCheck: boolean): KeySource {
    const l = this.layout;
    const base = makeKey(gen.day, BLOCK.student, 0);
    const ep = this.epochAt(asOf);
    const blockAlive = (b: number): boolean => {
      const grade = l.gradeAtCreation(gen, b) + ep.year - gen.year;
      if (grade < 0 || grade > TOP_GRADE) return false;
      return !ep.unshared.has(l.chainSchool(Math.floor(b / gen.cohorts), grade));
    };
    const accept =
      this.withdrawn.size === 0
        ? undefined
        : (i: number): boolean => {
            const w = this.withdrawn.get(base + i);
            return w === undefined || w > asOf;
          };
    if (!blockCheck) return new RangeSource(base, lo, hi, accept);
    return new RangeSource(
      base,
      lo,
      hi,
      accept,
      (i) => {
        for (let b = l.blockOf(gen, i); b < gen.blocks; b++) {
          if (blockAlive(b)) return Math.max(i, l.blockStart(gen, b));
        }
        return hi;
      },
      (i) => {
        for (let b = l.blockOf(gen, i); b >= 0; b--) {
          if (blockAlive(b)) return Math.min(i, l.blockStart(gen, b + 1) - 1);
        }
        return lo - 1;
      },
    );
  }

  private genContactSource(gen: Gen, asOf: number): KeySource {
    const l = this.layout;
    const ep = this.epochAt(asOf);
    const base = makeKey(gen.day, BLOCK.contact, 0);
    const blockAlive = (b: number): boolean => {
      const grade = l.gradeAtCreation(gen, b) + ep.year - gen.year;
      if (grade < 0 || grade > TOP_GRADE) return false;
      return !ep.unshared.has(l.chainSchool(Math.floor(b / gen.cohorts), grade));
    };
    const n = gen.contacts;
    if (n === 0) return emptySource;
    return new RangeSource(
      base,
      0,
      n,
      this.withdrawn.size === 0 ? undefined : (j) => this.contactAlive(base + j, asOf),
      (j) => {
        for (let b = l.blockOf(gen, l.contactOwner(j)); b < gen.blocks; b++) {
          if (blockAlive(b)) return Math.max(j, l.contactStart(l.blockStart(gen, b)));
        }
        return n;
      },
      (j) => {
        for (let b = l.blockOf(gen, l.contactOwner(j)); b >= 0; b--) {
          if (blockAlive(b)) return Math.min(j, l.contactStart(l.blockStart(gen, b + 1)) - 1);
        }
        return -1;
      },
    );
  }

  private teacherSource(lo: number, hi: number, asOf: number): KeySource {
    return new RangeSource(makeKey(0, BLOCK.teacher, 0), lo, hi, (i) => this.teacherAlive(i, asOf));
  }

  private multiRoleSource(lo: number, hi: number, asOf: number, adminOnly: boolean): KeySource {
    if (!this.quirks) return emptySource;
    if (adminOnly) {
      return new RangeSource(
        makeKey(0, BLOCK.teacher, 0),
        Math.max(lo, 1),
        Math.min(hi, 2),
        (i) => this.hasAdminRole(i) && this.teacherAlive(i, asOf),
      );
    }
    return new StrideSource(makeKey(0, BLOCK.teacher, 0), lo, hi, MULTI_ROLE_MOD, 1, (i) =>
      this.teacherAlive(i, asOf),
    );
  }

  private staffSource(lo: number, hi: number, asOf: number): KeySource {
    return new RangeSource(makeKey(0, BLOCK.staff, 0), lo, hi, (i) => this.staffAlive(i, asOf));
  }

  /** The keys re-key days up to `asOf` created, per day, as sources of the users holding `role` (all: null). */
  private rekeySources(
    role: Role | null,
    asOf: number,
    school: number | null,
  ): Array<{ day: number; src: KeySource }> {
    const year = this.yearAt(asOf);
    return this.rekeyDays
      .filter((d) => d.day <= asOf)
      .map((d) => ({
        day: d.day,
        src: new FilterSource(new ArraySource(d.keys), (k) => {
          if (!this.userAlive(k, asOf)) return false;
          if (role !== null && !this.userRoles(k).includes(role)) return false;
          return school === null || this.personSchool(this.personOf(k), year) === school;
        }),
      }));
  }

  /** The school of a student or teacher (by its first key) in school year `year`; -1 for others. */
  private personSchool(key: number, year: number): number {
    if (keyBlock(key) === BLOCK.student) return this.studentSchool(key, year);
    const t = this.teacherIndexOf(key);
    return t >= 0 ? this.layout.teacherSchool(t) : -1;
  }

  /**
   * `parts` by creation day (ascending), with the re-key days' keys in their place (a re-key day's
   * block sorts after the other blocks of that day), and without the keys people moved away from.
   */
  private withRekeys(
    byDay: Array<{ day: number; parts: KeySource[] }>,
    rekeys: Array<{ day: number; src: KeySource }>,
    asOf: number,
  ): KeySource {
    if (this.rekeyedTo.size === 0) return new ConcatSource(byDay.flatMap((d) => d.parts));
    const parts: KeySource[] = [];
    let r = 0;
    for (const d of byDay) {
      while (r < rekeys.length && rekeys[r]!.day < d.day) parts.push(rekeys[r++]!.src);
      parts.push(...d.parts);
    }
    while (r < rekeys.length) parts.push(rekeys[r++]!.src);
    return new FilterSource(new ConcatSource(parts), (k) => this.servedUnder(k, asOf));
  }

  /** All served users, or those holding `role`, in id order. */
  usersSource(role: Role | null, asOf: number): KeySource {
    const T = this.layout.teachers;
    const byDay: Array<{ day: number; parts: KeySource[] }> = [];
    for (const cd of this.creationDays) {
      if (cd.day > asOf) break;
      const parts: KeySource[] = [];
      byDay.push({ day: cd.day, parts });
      const wantStudents = role === null || role === 'student';
      const wantContacts = role === null || role === 'contact';
      if (cd.gen) {
        if (wantStudents) parts.push(this.genStudentSource(cd.gen, 0, cd.gen.count, asOf, true));
      } else if (wantStudents && cd.students.length > 0) {
        parts.push(new FilterSource(new ArraySource(cd.students), (k) => this.studentAlive(k, asOf)));
      }
      if (cd.day === 0) {
        if (role === null || role === 'teacher') parts.push(this.teacherSource(0, T, asOf));
        if (role === 'staff') parts.push(this.multiRoleSource(0, T, asOf, false));
        if (role === 'district_admin') parts.push(this.multiRoleSource(0, T, asOf, true));
        if (role === null || role === 'staff') parts.push(this.staffSource(0, this.layout.staff, asOf));
        if (role === null || role === 'district_admin')
          parts.push(new RangeSource(makeKey(0, BLOCK.district_admin, 0), 0, this.layout.admins));
      }
      if (wantContacts) {
        if (cd.gen) parts.push(this.genContactSource(cd.gen, asOf));
        else if (cd.contacts.length > 0)
          parts.push(new FilterSource(new ArraySource(cd.contacts), (k) => this.contactAlive(k, asOf)));
      }
    }
    return this.withRekeys(byDay, this.rekeySources(role, asOf, null), asOf);
  }

  /** Served users of a school (students, teachers, staff), optionally one role, in id order. */
  schoolUsersSource(s: number, role: Role | null, asOf: number): KeySource {
    const school = this.school(s);
    const year = this.yearAt(asOf);
    const lay = this.schoolLayout(s, year);
    const wantStudents = role === null || role === 'student';
    const byDay: Array<{ day: number; parts: KeySource[] }> = [];
    for (const cd of this.creationDays) {
      if (cd.day > asOf) break;
      const parts: KeySource[] = [];
      byDay.push({ day: cd.day, parts });
      if (wantStudents) {
        if (cd.gen) {
          for (const r of lay.ranges) {
            if (r.gen === cd.gen) parts.push(this.genStudentSource(r.gen, r.lo, r.hi, asOf, false));
          }
        } else if (cd.students.length > 0) {
          parts.push(
            new FilterSource(
              new ArraySource(cd.students),
              (k) => this.studentSchool(k, year) === s && this.studentAlive(k, asOf),
            ),
          );
        }
      }
      if (cd.day === 0) {
        const tLo = school.teacherStart;
        const tHi = tLo + school.teacherCount;
        if (role === null || role === 'teacher') parts.push(this.teacherSource(tLo, tHi, asOf));
        if (role === 'staff') parts.push(this.multiRoleSource(tLo, tHi, asOf, false));
        if (role === null || role === 'staff')
          parts.push(this.staffSource(school.staffStart, school.staffStart + school.staffCount, asOf));
      }
    }
    return this.withRekeys(byDay, this.rekeySources(role, asOf, s), asOf);
  }

  /** Served sections of the current school year (optionally one school), in id order. */
  sectionsSource(asOf: number, school: number | null): KeySource {
    const ep = this.epochAt(asOf);
    const P = this.periods;
    const base = this.sectionKey(ep.year, 0);
    if (school !== null) {
      const s = this.school(school);
      return new RangeSource(base, s.teacherStart * P, (s.teacherStart + s.teacherCount) * P);
    }
    const hi = this.layout.teachers * P;
    const l = this.layout;
    if (ep.unshared.size === 0) return new RangeSource(base, 0, hi);
    return new RangeSource(
      base,
      0,
      hi,
      undefined,
      (idx) => {
        let i = idx;
        while (i < hi) {
          const s = this.school(l.teacherSchool(Math.floor(i / P)));
          if (!ep.unshared.has(s.index)) return i;
          i = (s.teacherStart + s.teacherCount) * P;
        }
        return hi;
      },
      (idx) => {
        let i = idx;
        while (i >= 0) {
          const s = this.school(l.teacherSchool(Math.floor(i / P)));
          if (!ep.unshared.has(s.index)) return i;
          i = s.teacherStart * P - 1;
        }
        return -1;
      },
    );
  }

  termKey(year: number, idx: number): number {
    return makeKey(this.yearDay[year] ?? 0, 0, idx);
  }

  /** Year of a term key, or -1. */
  termYear(key: number): number {
    if (keyBlock(key) !== 0 || keyIndex(key) >= this.shape.terms) return -1;
    return this.dayYear.get(keyDay(key)) ?? -1;
  }

  courseKey(idx: number): number {
    return makeKey(0, 0, idx);
  }

  schoolKey(idx: number): number {
    return makeKey(0, 0, idx);
  }

  /** Shared school indexes as of a day. */
  sharedSchools(asOf: number): number[] {
    const ep = this.epochAt(asOf);
    return this.layout.schools.filter((s) => !ep.unshared.has(s.index)).map((s) => s.index);
  }
}
