import type { DistrictShape } from './options.js';

// The arithmetic skeleton of a district: everything here is computed once from the options and
// holds O(schools + chains × grades) numbers, never anything per student.
//
// Students live in "generations": generation 0 is the district at day 0 (13 cohorts, K..12) and
// every rollover adds a kindergarten intake. Inside a generation students are laid out in blocks,
// chain-major and cohort-minor, where a *chain* is a feeder path elementary → middle → high. A
// cohort moves through its chain's schools as it is promoted, so the students of one school in one
// school year are always one contiguous index range per (generation, chain): memberships and
// inverses become arithmetic instead of lookups.

export type Level = 'elementary' | 'middle' | 'high' | 'k8' | 'k12' | 'empty';

/** Grades are numbers internally: 0 = Kindergarten, 1..12. */
export const TOP_GRADE = 12;
export const GRADES_PER_DISTRICT = 13;

export interface SchoolDef {
  index: number;
  level: Level;
  low: number;
  high: number;
  /** Feeder chains passing through this school (ascending). */
  chains: number[];
  teacherStart: number;
  teacherCount: number;
  staffStart: number;
  staffCount: number;
  /** Students at day 0; used to apportion teachers and staff. */
  baseStudents: number;
}

export interface Gen {
  /** 0 = the district at day 0; r = the kindergarten intake of rollover r. */
  g: number;
  /** Day of creation (the day part of the generation's keys). */
  day: number;
  /** School year at creation. */
  year: number;
  cohorts: number;
  count: number;
  contacts: number;
  blocks: number;
}

/** Largest-remainder apportionment; every eligible part gets at least one when total allows. */
export function apportion(total: number, weights: readonly number[], eligible: readonly boolean[]): number[] {
  const out = weights.map(() => 0);
  const idx = weights.map((_, i) => i).filter((i) => eligible[i]);
  if (idx.length === 0 || total <= 0) return out;
  let rest = total;
  if (total >= idx.length) {
    for (const i of idx) out[i] = 1;
    rest -= idx.length;
  }
  let sum = 0;
  for (const i of idx) sum += weights[i] ?? 0;
  const w = (i: number): number => (sum > 0 ? (weights[i] ?? 0) : 1);
  const wsum = sum > 0 ? sum : idx.length;
  const rema: Array<[number, number]> = [];
  let given = 0;
  for (const i of idx) {
    const q = (rest * w(i)) / wsum;
    const f = Math.floor(q);
    out[i] = (out[i] ?? 0) + f;
    given += f;
    rema.push([q - f, i]);
  }
  rema.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < rest - given; k++) {
    const r = rema[k % rema.length];
    if (r) out[r[1]] = (out[r[1]] ?? 0) + 1;
  }
  return out;
}

export class DistrictLayout {
  readonly schools: SchoolDef[];
  readonly chains: number;
  readonly baseGen: Gen;
  /** Students in a rollover's kindergarten intake. */
  readonly intakeCount: number;
  readonly periods: number;
  readonly teachers: number;
  readonly staff: number;
  readonly admins: number;
  /** Index of the staff member with no schools (quirk), or -1. */
  readonly schoollessStaff: number;
  private readonly nES: number;
  private readonly nMS: number;
  private readonly nHS: number;
  private readonly mode: 'k12' | 'k8' | 'split';
  private readonly teacherStarts: number[];
  private readonly staffStarts: number[];

  constructor(readonly shape: DistrictShape) {
    const n = shape.schools;
    this.periods = shape.sectionsPerTeacher;
    this.teachers = shape.teachers;
    this.staff = shape.staff;
    this.admins = shape.districtAdmins;
    const levels: Array<[Level, number, number]> = [];
    if (n === 1) {
      this.mode = 'k12';
      this.nES = 1;
      this.nMS = 0;
      this.nHS = 0;
      levels.push(['k12', 0, 12]);
    } else if (n === 2) {
      this.mode = 'k8';
      this.nES = 1;
      this.nMS = 0;
      this.nHS = 1;
      levels.push(['k8', 0, 8], ['high', 9, 12]);
    } else {
      this.mode = 'split';
      this.nHS = Math.max(1, Math.floor(n / 5));
      this.nMS = Math.max(1, Math.floor(n / 4));
      this.nES = n - this.nHS - this.nMS;
      for (let i = 0; i < this.nES; i++) levels.push(['elementary', 0, 5]);
      for (let i = 0; i < this.nMS; i++) levels.push(['middle', 6, 8]);
      for (let i = 0; i < this.nHS; i++) levels.push(['high', 9, 12]);
    }
    // Quirk: a school that is shared with the app but has no users at all.
    if (shape.quirks) levels.push(['empty', 9, 12]);
    this.chains = this.nES;

    const cohorts = GRADES_PER_DISTRICT;
    this.baseGen = {
      g: 0,
      day: 0,
      year: 0,
      cohorts,
      count: shape.students,
      contacts: this.contactStart(shape.students),
      blocks: this.chains * cohorts,
    };
    let intake = 0;
    for (let e = 0; e < this.chains; e++) intake += this.blockSize(this.baseGen, e * cohorts);
    this.intakeCount = intake;

    const schools: SchoolDef[] = levels.map(([level, low, high], index) => ({
      index,
      level,
      low,
      high,
      chains: [],
      teacherStart: 0,
      teacherCount: 0,
      staffStart: 0,
      staffCount: 0,
      baseStudents: 0,
    }));
    for (let e = 0; e < this.chains; e++) {
      const seen = new Set<number>();
      for (let grade = 0; grade <= TOP_GRADE; grade++) {
        const s = this.chainSchool(e, grade);
        const school = schools[s];
        if (!school) continue;
        if (!seen.has(s)) {
          seen.add(s);
          school.chains.push(e);
        }
        school.baseStudents += this.blockSize(this.baseGen, e * cohorts + grade);
      }
    }
    this.schools = schools;

    const weights = schools.map((s) => s.baseStudents);
    const hasChains = schools.map((s) => s.chains.length > 0);
    const tCounts = apportion(shape.teachers, weights, hasChains);
    this.schoollessStaff = shape.quirks && shape.staff > 0 ? shape.staff - 1 : -1;
    const sCounts = apportion(this.schoollessStaff >= 0 ? shape.staff - 1 : shape.staff, weights, hasChains);
    let t = 0;
    let st = 0;
    this.teacherStarts = [];
    this.staffStarts = [];
    for (const s of schools) {
      s.teacherStart = t;
      s.teacherCount = tCounts[s.index] ?? 0;
      t += s.teacherCount;
      s.staffStart = st;
      s.staffCount = sCounts[s.index] ?? 0;
      st += s.staffCount;
      this.teacherStarts.push(s.teacherStart);
      this.staffStarts.push(s.staffStart);
    }
  }

  /** School index serving `grade` on feeder chain `chain`, or -1 outside K..12. */
  chainSchool(chain: number, grade: number): number {
    if (grade < 0 || grade > TOP_GRADE) return -1;
    if (this.mode === 'k12') return 0;
    if (this.mode === 'k8') return grade <= 8 ? 0 : 1;
    if (grade <= 5) return chain;
    const ms = chain % this.nMS;
    if (grade <= 8) return this.nES + ms;
    return this.nES + this.nMS + (ms % this.nHS);
  }

  /** Cumulative floor split of gen.count over gen.blocks: block b is [start(b), start(b+1)). */
  blockStart(gen: Gen, b: number): number {
    return Math.floor((b * gen.count) / gen.blocks);
  }

  blockSize(gen: Gen, b: number): number {
    return this.blockStart(gen, b + 1) - this.blockStart(gen, b);
  }

  /** The block holding generation index i (the largest b with start(b) <= i). */
  blockOf(gen: Gen, i: number): number {
    return Math.floor(((i + 1) * gen.blocks - 1) / gen.count);
  }

  /** Grade of block b's cohort when its generation was created. */
  gradeAtCreation(gen: Gen, b: number): number {
    return gen.g === 0 ? b % gen.cohorts : 0;
  }

  /** First contact index of generation-local student i (contacts per student as an exact fraction). */
  contactStart(i: number): number {
    return Math.floor((i * this.shape.contactsNum) / this.shape.contactsDen);
  }

  /** Student owning generation-local contact j. */
  contactOwner(j: number): number {
    return Math.ceil(((j + 1) * this.shape.contactsDen) / this.shape.contactsNum) - 1;
  }

  /** School index of teacher i (binary search over the contiguous per-school blocks). */
  teacherSchool(i: number): number {
    return upperBound(this.teacherStarts, i, this.schools, (s) => s.teacherCount);
  }

  /** School index of staff member i, or -1 for the schoolless quirk staff member. */
  staffSchool(i: number): number {
    if (i === this.schoollessStaff) return -1;
    return upperBound(this.staffStarts, i, this.schools, (s) => s.staffCount);
  }

  newIntake(g: number, day: number, year: number): Gen {
    const count = this.intakeCount;
    return { g, day, year, cohorts: 1, count, contacts: this.contactStart(count), blocks: this.chains };
  }
}

/** Index of the school whose block [start, start+size) holds i. */
function upperBound(
  starts: readonly number[],
  i: number,
  schools: readonly SchoolDef[],
  size: (s: SchoolDef) => number,
): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= i) lo = mid;
    else hi = mid - 1;
  }
  // Empty blocks share their start with the next school: step back to the one that has members.
  while (lo > 0 && size(schools[lo] as SchoolDef) === 0) lo--;
  return lo;
}
