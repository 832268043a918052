import type { Gen } from './district-layout.js';
import { TOP_GRADE } from './district-layout.js';
import type { DistrictModel, Epoch, ExplicitStudent } from './district-model.js';
import { MULTI_ROLE_MOD } from './district-model.js';
import { ACTION, COLL_OF, eventCode } from './event-log.js';
import type { EventLog } from './event-log.js';
import type { Action } from './event-log.js';
import { BLOCK, COLL, makeKey } from './ids.js';
import type { CollCode } from './ids.js';
import { LAST_NAMES } from './names.js';
import { Rng, hash2 } from './prng.js';
import { renderRecord } from './render.js';
import type { Collection, DayKind, DayRecord, Role } from './types.js';
import { COLLECTIONS } from './types.js';

// Days of district life. Every mutation is stamped with the new day, so "before" is simply the
// model rendered as of day - 1. Normal days touch few records: the DayRecord is the exact diff of
// the candidates' served JSON before and after. Rollover and bad sharing are global epochs; their
// records are enumerated arithmetically block by block (a million-student rollover lists every
// promoted student, as it must, but allocates only the id arrays).

/** Daily rates of normal-day changes, as shares of the configured student count (min 1 each). */
export const DAILY_RATES = {
  newStudents: 0.0008,
  withdrawals: 0.0006,
  gradeChanges: 0.0003,
  nameChanges: 0.0003,
  scheduleChanges: 0.0008,
} as const;

const ORDER: CollCode[] = [COLL_OF.schools, COLL_OF.terms, COLL_OF.courses, COLL_OF.users, COLL_OF.sections];

function emptyIds(): Record<Collection, string[]> {
  return { schools: [], users: [], sections: [], terms: [], courses: [] };
}

function emptyRoles(): Record<Role, string[]> {
  return { student: [], teacher: [], staff: [], district_admin: [], contact: [] };
}

/**
 * Collects a day's changes per collection as flat key/action arrays (a rollover of a million
 * students records over a million changes; no per-change objects), then produces the DayRecord
 * and the day's compact event entries in Clever collection order.
 */
class DayBuilder {
  private readonly keys: number[][] = ORDER.map(() => []);
  private readonly actions: number[][] = ORDER.map(() => []);
  /** The day's re-keys, old key → new key. */
  readonly rekeyed: Array<{ from: number; to: number }> = [];

  constructor(
    private readonly m: DistrictModel,
    readonly day: number,
    readonly kind: DayKind,
  ) {}

  add(coll: CollCode, key: number, action: Action): void {
    // A re-keyed person changes under the key it is served under (a re-key day adds both keys itself).
    if (coll === COLL.user && this.kind !== 'rekey') key = this.m.servedKey(key, this.day);
    const n = ORDER.indexOf(coll);
    (this.keys[n] as number[]).push(key);
    (this.actions[n] as number[]).push(action);
  }

  /** `sorted`: collections whose changes were added out of key order and must be sorted. */
  finish(log: EventLog, given: ReadonlySet<CollCode>): DayRecord {
    // Served keys of re-keyed people sort apart from the people's first keys.
    const sorted = this.m.rekeyedTo.size > 0 ? new Set([...given, COLL.user]) : given;
    const rec: DayRecord = {
      day: this.day,
      kind: this.kind,
      created: emptyIds(),
      updated: emptyIds(),
      deleted: emptyIds(),
      rekeyed: this.rekeyed.map((r) => ({
        from: this.m.codec.encode(COLL.user, r.from),
        to: this.m.codec.encode(COLL.user, r.to),
        roles: this.m.userRoles(r.from),
      })),
      usersByRole: { created: emptyRoles(), updated: emptyRoles(), deleted: emptyRoles() },
    };
    const total = this.keys.reduce((n, k) => n + k.length, 0);
    const evKeys = new Float64Array(total);
    const evCodes = new Uint8Array(total);
    let e = 0;
    const bucket = [rec.created, rec.updated, rec.deleted] as const;
    const roleBucket = [rec.usersByRole.created, rec.usersByRole.updated, rec.usersByRole.deleted] as const;
    ORDER.forEach((coll, n) => {
      const keys = this.keys[n] as number[];
      const actions = this.actions[n] as number[];
      let order: number[] | null = null;
      if (sorted.has(coll)) {
        order = keys.map((_, i) => i);
        order.sort((x, y) => (keys[x] as number) - (keys[y] as number));
      }
      const name = COLLECTIONS.find((c) => COLL_OF[c] === coll) as Collection;
      for (let i = 0; i < keys.length; i++) {
        const at = order ? (order[i] as number) : i;
        const key = keys[at] as number;
        const action = actions[at] as Action;
        const id = this.m.codec.encode(coll, key);
        bucket[action][name].push(id);
        if (coll === COLL.user) for (const r of this.m.userRoles(key)) roleBucket[action][r].push(id);
        evKeys[e] = key;
        evCodes[e++] = eventCode(coll, action);
      }
    });
    log.append(this.day, evKeys, evCodes);
    return rec;
  }
}

const ALL_SORTED: ReadonlySet<CollCode> = new Set(ORDER);
const NONE_SORTED: ReadonlySet<CollCode> = new Set();

/** Applies one day of the given kind to the district and returns its exact record. */
export function applyDay(m: DistrictModel, kind: DayKind, log: EventLog): DayRecord {
  const day = m.day + 1;
  m.day = day;
  let rec: DayRecord;
  if (kind === 'rollover') rec = rollover(m, day, log);
  else if (kind === 'bad_sharing') rec = badSharing(m, day, log);
  else if (kind === 'rekey') rec = rekeyDay(m, day, log);
  else rec = normalDay(m, day, log);
  log.prune(day);
  return rec;
}

// ------------------------------------------------------------------------------------ normal day

function normalDay(m: DistrictModel, day: number, log: EventLog): DayRecord {
  const rng = new Rng(hash2(m.salt ^ 0xda7, day));
  const prev = day - 1;
  const year = m.yearAt(prev);
  const P = m.periods;
  const userCands = new Set<number>();
  const sectionCands = new Set<number>();
  const used = new Set<number>();
  const count = (rate: number): number =>
    m.shape.students > 0 ? Math.max(1, Math.round(m.shape.students * rate)) : 0;

  // Pool of currently served students to draw from: per shared school its year layout, plus the
  // students created on earlier normal days.
  const shared = m.sharedSchools(prev);
  const pools = shared.map((s) => ({ s, lay: m.schoolLayout(s, year) })).filter((p) => p.lay.total > 0);
  const explicitAlive = [...m.explicitStudents.keys()].filter((k) => m.studentAlive(k, prev));
  const poolTotal = pools.reduce((n, p) => n + p.lay.total, 0) + explicitAlive.length;
  const pickStudent = (needTeachers: number): number => {
    for (let attempt = 0; attempt < 64 && poolTotal > 0; attempt++) {
      let r = rng.int(poolTotal);
      let key = -1;
      let inPool = false;
      for (const p of pools) {
        if (r < p.lay.total) {
          inPool = true;
          for (const range of p.lay.ranges) {
            if (r < range.local + range.hi - range.lo) {
              key = makeKey(range.gen.day, BLOCK.student, range.lo + r - range.local);
              break;
            }
          }
          break;
        }
        r -= p.lay.total;
      }
      if (!inPool) key = explicitAlive[r] ?? -1;
      if (key < 0 || used.has(key) || !m.studentAlive(key, prev)) continue;
      const s = m.studentSchool(key, year);
      if (s < 0 || m.school(s).teacherCount < needTeachers) continue;
      used.add(key);
      return key;
    }
    return -1;
  };

  // A teacher leaves; their sections go to a colleague at the same school.
  const eligible = shared.filter((s) => {
    const school = m.school(s);
    let alive = 0;
    for (let t = school.teacherStart; t < school.teacherStart + school.teacherCount; t++)
      if (m.teacherAlive(t, prev)) alive++;
    return alive >= 2;
  });
  if (eligible.length > 0) {
    const school = m.school(rng.pick(eligible));
    const candidates: number[] = [];
    for (let t = school.teacherStart; t < school.teacherStart + school.teacherCount; t++) {
      if (m.teacherAlive(t, prev) && !(m.quirks && t % MULTI_ROLE_MOD === 1)) candidates.push(t);
    }
    if (candidates.length > 0) {
      const leaver = rng.pick(candidates);
      const sections = m.teacherSections(leaver, prev);
      m.teacherLeft.set(leaver, day);
      userCands.add(m.teacherKey(leaver));
      for (const sec of sections) {
        sectionCands.add(sec);
        if (m.sectionPrimary(sec, prev) !== leaver) continue;
        const repl = nextAliveTeacher(m, school.index, leaver, day);
        if (repl < 0) continue;
        reassign(m, sec, repl, day);
      }
    }
  }

  // Withdrawals: the student disappears, with any contact left without students.
  for (let n = count(DAILY_RATES.withdrawals); n > 0; n--) {
    const key = pickStudent(0);
    if (key < 0) break;
    for (const sec of m.studentSections(key, prev)) sectionCands.add(sec);
    for (const c of m.studentContacts(key)) userCands.add(c);
    m.withdrawn.set(key, day);
    userCands.add(key);
  }

  // New students (with new contacts), enrolled in one section per period at their school.
  const newStudents: number[] = [];
  const newContacts: number[] = [];
  const schools = pools.map((p) => m.school(p.s)).filter((s) => s.teacherCount > 0 && s.chains.length > 0);
  const cps = m.shape.contactsNum / m.shape.contactsDen;
  for (let n = schools.length > 0 ? count(DAILY_RATES.newStudents) : 0; n > 0; n--) {
    const school = rng.pick(schools);
    const grade = school.low + rng.int(school.high - school.low + 1);
    const key = makeKey(day, BLOCK.student, newStudents.length);
    const rec: ExplicitStudent = {
      key,
      day,
      chain: rng.pick(school.chains),
      gradeAt: grade,
      yearAt: year,
      contacts: [],
    };
    const nContacts = Math.floor(cps) + (rng.next() < cps - Math.floor(cps) ? 1 : 0);
    for (let c = 0; c < nContacts; c++) {
      const ck = makeKey(day, BLOCK.contact, newContacts.length);
      newContacts.push(ck);
      rec.contacts.push(ck);
      m.explicitContacts.set(ck, { key: ck, day, students: [key] });
      userCands.add(ck);
    }
    m.explicitStudents.set(key, rec);
    newStudents.push(key);
    used.add(key);
    userCands.add(key);
    for (let p = 0; p < P; p++) {
      const sec = m.sectionKey(year, (school.teacherStart + rng.int(school.teacherCount)) * P + p);
      assign(m, key, year, p, sec, day);
      sectionCands.add(sec);
    }
  }
  if (newStudents.length > 0 || newContacts.length > 0) {
    m.creationDays.push({ day, gen: null, students: newStudents, contacts: newContacts });
  }

  // Grade corrections inside the school's grade range.
  for (let n = count(DAILY_RATES.gradeChanges); n > 0; n--) {
    const key = pickStudent(0);
    if (key < 0) break;
    const school = m.school(m.studentSchool(key, year));
    const cur = m.studentGrade(key, prev);
    const options = [cur - 1, cur + 1].filter((g) => g >= school.low && g <= school.high);
    if (options.length === 0) continue;
    push(m.gradeOverride, key, { day, value: { year, grade: rng.pick(options) } });
    userCands.add(key);
  }

  // Name changes (a new last name).
  for (let n = count(DAILY_RATES.nameChanges); n > 0; n--) {
    const key = pickStudent(0);
    if (key < 0) break;
    const cur = renderRecord(m, COLL.user, m.servedKey(key, prev), prev, false)?.name as
      { first: string; last: string } | undefined;
    if (!cur) continue;
    let last = rng.pick(LAST_NAMES);
    if (last === cur.last) last = `${cur.last}-${rng.pick(LAST_NAMES)}`;
    push(m.nameOverride, key, { day, value: { first: cur.first, last } });
    userCands.add(key);
  }

  // Schedule changes: a student moves to another teacher's section in the same period.
  for (let n = count(DAILY_RATES.scheduleChanges); n > 0; n--) {
    const key = pickStudent(2);
    if (key < 0) break;
    const p = rng.int(P);
    const from = m.studentSection(key, year, p, prev);
    const d = from >= 0 ? m.decodeSection(from) : null;
    if (!d) continue;
    const school = m.school(d.school);
    const local = d.teacher - school.teacherStart;
    const to = (local + 1 + rng.int(school.teacherCount - 1)) % school.teacherCount;
    const sec = m.sectionKey(year, (school.teacherStart + to) * P + p);
    assign(m, key, year, p, sec, day);
    sectionCands.add(from);
    sectionCands.add(sec);
  }

  const b = new DayBuilder(m, day, 'normal');
  diffInto(b, m, COLL.user, userCands, day);
  diffInto(b, m, COLL.section, sectionCands, day);
  return b.finish(log, ALL_SORTED);
}

function push<T>(
  map: Map<number, Array<{ day: number; value: T }>>,
  key: number,
  e: { day: number; value: T },
): void {
  const list = map.get(key);
  if (list) list.push(e);
  else map.set(key, [e]);
}

function assign(
  m: DistrictModel,
  student: number,
  year: number,
  period: number,
  section: number,
  day: number,
): void {
  push(m.periodOverride, student, { day, value: { year, period, section } });
  let set = m.sectionMovedIn.get(section);
  if (!set) m.sectionMovedIn.set(section, (set = new Set()));
  set.add(student);
}

function reassign(m: DistrictModel, section: number, teacher: number, day: number): void {
  push(m.sectionTeacher, section, { day, value: teacher });
  let set = m.teacherAssigned.get(teacher);
  if (!set) m.teacherAssigned.set(teacher, (set = new Set()));
  set.add(section);
}

function nextAliveTeacher(m: DistrictModel, schoolIdx: number, from: number, asOf: number): number {
  const school = m.school(schoolIdx);
  for (let step = 1; step < school.teacherCount; step++) {
    const t = school.teacherStart + ((from - school.teacherStart + step) % school.teacherCount);
    if (m.teacherAlive(t, asOf)) return t;
  }
  return -1;
}

/** Classifies candidates by comparing their served JSON before (day - 1) and after (day). */
function diffInto(
  b: DayBuilder,
  m: DistrictModel,
  coll: CollCode,
  cands: Iterable<number>,
  day: number,
): void {
  const touched = coll === COLL.user ? m.touchedUsers : m.touchedSections;
  for (const key of cands) {
    // `touched` is kept by a person's first key (what its stamps are rendered from), the diff by
    // the key it is served under (the same on both days: only a re-key day changes it, and that
    // day diffs no re-keyed person here).
    const served = coll === COLL.user ? m.servedKey(key, day) : key;
    const before = renderRecord(m, coll, served, day - 1, true);
    const after = renderRecord(m, coll, served, day, true);
    if (before === null && after === null) continue;
    if (before === null) b.add(coll, served, ACTION.created);
    else if (after === null) b.add(coll, served, ACTION.deleted);
    else if (JSON.stringify(before) !== JSON.stringify(after)) {
      b.add(coll, served, ACTION.updated);
      const list = touched.get(key);
      if (list) list.push(day);
      else touched.set(key, [day]);
    }
  }
}

// ------------------------------------------------------------------------------------ bulk days

function blockServed(m: DistrictModel, gen: Gen, b: number, ep: Epoch, asOf: number): boolean {
  if (asOf < gen.day) return false;
  const l = m.layout;
  const grade = l.gradeAtCreation(gen, b) + ep.year - gen.year;
  if (grade < 0 || grade > TOP_GRADE) return false;
  return !ep.unshared.has(l.chainSchool(Math.floor(b / gen.cohorts), grade));
}

/**
 * User changes implied by an epoch change, in id order: per generation block the students are
 * created, deleted, or (when `promote`) updated; contacts follow their students; teachers and staff
 * follow their school. Individually withdrawn students are dead on both sides and skipped.
 */
function bulkUsers(m: DistrictModel, b: DayBuilder, day: number, promote: boolean): void {
  const before = m.epochAt(day - 1);
  const after = m.epochAt(day);
  const l = m.layout;
  const isWithdrawn = (k: number): boolean => {
    const w = m.withdrawn.get(k);
    return w !== undefined && w <= day - 1;
  };
  for (const cd of m.creationDays) {
    if (cd.gen) {
      const gen = cd.gen;
      const base = makeKey(gen.day, BLOCK.student, 0);
      const contactActions: Array<[number, number, Action | null]> = [];
      for (let blk = 0; blk < gen.blocks; blk++) {
        const sb = blockServed(m, gen, blk, before, day - 1);
        const sa = blockServed(m, gen, blk, after, day);
        if (!sb && !sa) continue;
        const action: Action | null =
          sb && sa ? (promote ? ACTION.updated : null) : sa ? ACTION.created : ACTION.deleted;
        const lo = l.blockStart(gen, blk);
        const hi = l.blockStart(gen, blk + 1);
        if (action !== null) {
          for (let i = lo; i < hi; i++) if (!isWithdrawn(base + i)) b.add(COLL.user, base + i, action);
        }
        if (sb !== sa) contactActions.push([l.contactStart(lo), l.contactStart(hi), action]);
      }
      if (cd.day === 0) staffChanges(m, b, day);
      const cbase = makeKey(gen.day, BLOCK.contact, 0);
      for (const [jlo, jhi] of contactActions) {
        for (let j = jlo; j < jhi; j++) contactChange(m, b, cbase + j, day);
      }
    } else {
      for (const k of cd.students) {
        const sb = m.studentAlive(k, day - 1);
        const sa = m.studentAlive(k, day);
        if (sb && sa && promote) b.add(COLL.user, k, ACTION.updated);
        else if (sb !== sa) b.add(COLL.user, k, sa ? ACTION.created : ACTION.deleted);
      }
      for (const k of cd.contacts) contactChange(m, b, k, day);
    }
  }
}

function contactChange(m: DistrictModel, b: DayBuilder, key: number, day: number): void {
  const sb = m.contactAlive(key, day - 1);
  const sa = m.contactAlive(key, day);
  if (sb === sa) {
    // Still served: changed only if the set of served students changed (it cannot in bulk days,
    // because linked students always share a block; checked anyway to stay exact).
    if (
      sb &&
      JSON.stringify(renderRecord(m, COLL.user, key, day - 1, true)) !==
        JSON.stringify(renderRecord(m, COLL.user, key, day, true))
    )
      b.add(COLL.user, key, ACTION.updated);
    return;
  }
  b.add(COLL.user, key, sa ? ACTION.created : ACTION.deleted);
}

function staffChanges(m: DistrictModel, b: DayBuilder, day: number): void {
  const l = m.layout;
  const classify = (key: number, sb: boolean, sa: boolean): void => {
    if (sb !== sa) b.add(COLL.user, key, sa ? ACTION.created : ACTION.deleted);
  };
  for (let i = 0; i < l.teachers; i++)
    classify(m.teacherKey(i), m.teacherAlive(i, day - 1), m.teacherAlive(i, day));
  for (let i = 0; i < l.staff; i++)
    classify(makeKey(0, BLOCK.staff, i), m.staffAlive(i, day - 1), m.staffAlive(i, day));
}

function sectionRange(
  m: DistrictModel,
  b: DayBuilder,
  year: number,
  schools: number[],
  action: Action,
): void {
  const P = m.periods;
  for (const s of schools) {
    const school = m.school(s);
    for (let idx = school.teacherStart * P; idx < (school.teacherStart + school.teacherCount) * P; idx++) {
      b.add(COLL.section, m.sectionKey(year, idx), action);
    }
  }
}

function rollover(m: DistrictModel, day: number, log: EventLog): DayRecord {
  const prevEp = m.epochAt(day - 1);
  const oldYear = prevEp.year;
  const year = oldYear + 1;
  m.yearDay.push(day);
  m.dayYear.set(day, year);
  m.epochs.push({ day, year, unshared: prevEp.unshared });
  if (m.layout.chains > 0 && m.layout.intakeCount > 0) {
    const gen = m.layout.newIntake(m.gens.length, day, year);
    m.gens.push(gen);
    m.genByDay.set(day, gen);
    m.creationDays.push({ day, gen, students: [], contacts: [] });
  }
  const P = m.periods;
  // Students created on normal days get a schedule in the new year (generated ones have one by arithmetic).
  for (const rec of m.explicitStudents.values()) {
    const s = m.studentSchool(rec.key, year);
    if (s < 0 || !m.studentAlive(rec.key, day)) continue;
    const school = m.school(s);
    if (school.teacherCount === 0) continue;
    const rng = new Rng(hash2(m.salt ^ 0x5ced, rec.key + day));
    for (let p = 0; p < P; p++) {
      assign(
        m,
        rec.key,
        year,
        p,
        m.sectionKey(year, (school.teacherStart + rng.int(school.teacherCount)) * P + p),
        day,
      );
    }
  }
  // Sections of teachers who left earlier go to a colleague from the start.
  for (const [t, left] of m.teacherLeft) {
    if (left > day) continue;
    const s = m.layout.teacherSchool(t);
    const repl = nextAliveTeacher(m, s, t, day);
    if (repl < 0) continue;
    for (let p = 0; p < P; p++) reassign(m, m.sectionKey(year, t * P + p), repl, day);
  }

  const b = new DayBuilder(m, day, 'rollover');
  for (let i = 0; i < m.shape.terms; i++) b.add(COLL.term, m.termKey(oldYear, i), ACTION.deleted);
  for (let i = 0; i < m.shape.terms; i++) b.add(COLL.term, m.termKey(year, i), ACTION.created);
  bulkUsers(m, b, day, true);
  const shared = m.sharedSchools(day);
  sectionRange(m, b, oldYear, shared, ACTION.deleted);
  sectionRange(m, b, year, shared, ACTION.created);
  return b.finish(log, NONE_SORTED);
}

function badSharing(m: DistrictModel, day: number, log: EventLog): DayRecord {
  const prevEp = m.epochAt(day - 1);
  const shared = m.sharedSchools(day - 1);
  // The district keeps sharing one school (the first still shared) and drops the others by mistake.
  const dropped = shared.slice(1);
  const b = new DayBuilder(m, day, 'bad_sharing');
  if (dropped.length === 0) return b.finish(log, NONE_SORTED);
  m.epochs.push({ day, year: prevEp.year, unshared: new Set([...prevEp.unshared, ...dropped]) });
  for (const s of dropped) b.add(COLL.school, m.schoolKey(s), ACTION.deleted);
  bulkUsers(m, b, day, false);
  // Sections of the kept school lose the students of dropped schools placed there (cross-school quirk).
  const year = prevEp.year;
  const cands = new Set<number>();
  for (const [sec, student] of m.extras(year).bySection) {
    const d = m.decodeSection(sec);
    if (d && !dropped.includes(d.school) && dropped.includes(m.studentSchool(student, year))) cands.add(sec);
  }
  for (const sec of [...cands].sort((x, y) => x - y)) {
    const before = JSON.stringify(renderRecord(m, COLL.section, sec, day - 1, true));
    const after = JSON.stringify(renderRecord(m, COLL.section, sec, day, true));
    if (before !== after && before !== 'null' && after !== 'null') {
      b.add(COLL.section, sec, ACTION.updated);
      const list = m.touchedSections.get(sec);
      if (list) list.push(day);
      else m.touchedSections.set(sec, [day]);
    }
  }
  sectionRange(m, b, year, dropped, ACTION.deleted);
  // Users and schools were added in id order; the sections mix updates and deletions.
  return b.finish(log, new Set([COLL.section]));
}

// ------------------------------------------------------------------------------------ re-key day

/** Share of the served students and teachers a re-key day gives a new id. */
export const REKEY_SHARE = 0.1;

/**
 * The district re-imports its SIS (or Clever re-creates people for another reason): about one in
 * ten served students and teachers is served under a new id from this day on, with the same
 * identifiers, names and emails. The old ids are deleted and the new ones created (in the events
 * feed too: a delete and a create per person); their sections and contacts now name the new ids.
 * Multi-role users are left alone (one person, several role lists).
 */
function rekeyDay(m: DistrictModel, day: number, log: EventLog): DayRecord {
  const prev = day - 1;
  const rng = new Rng(hash2(m.salt ^ 0x7e6e, day));
  const b = new DayBuilder(m, day, 'rekey');
  const sectionCands = new Set<number>();
  const contactCands = new Set<number>();
  const chosen: number[] = [];
  for (const role of ['student', 'teacher'] as const) {
    const it = m.usersSource(role, prev).asc(-1);
    for (let r = it.next(); r.done !== true; r = it.next()) {
      const key = r.value;
      if (m.userRoles(key).length !== 1 || rng.next() >= REKEY_SHARE) continue;
      chosen.push(key);
    }
  }
  const newKeys: number[] = [];
  for (const key of chosen) {
    const to = makeKey(day, BLOCK.rekeyed, newKeys.length);
    const person = m.personOf(key);
    if (m.isStudentKey(person)) {
      for (const sec of m.studentSections(person, prev)) sectionCands.add(sec);
      for (const c of m.studentContacts(person)) contactCands.add(c);
    } else {
      for (const sec of m.teacherSections(m.teacherIndexOf(person), prev)) sectionCands.add(sec);
    }
    m.rekeyedTo.set(key, { day, key: to });
    m.rekeyedFrom.set(to, key);
    newKeys.push(to);
    b.rekeyed.push({ from: key, to });
    b.add(COLL.user, key, ACTION.deleted);
    b.add(COLL.user, to, ACTION.created);
  }
  if (newKeys.length > 0) m.rekeyDays.push({ day, keys: newKeys });
  diffInto(b, m, COLL.user, contactCands, day);
  diffInto(b, m, COLL.section, sectionCands, day);
  return b.finish(log, ALL_SORTED);
}
