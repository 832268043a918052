import { DAY_MS, COLL, BLOCK, dayStamp, isoAt, keyBlock, keyDay, keyIndex, makeKey } from './ids.js';
import type { CollCode } from './ids.js';
import type { DistrictModel, StudentFacts } from './district-model.js';
import { lastDayAsOf, latestAsOf } from './district-model.js';
import {
  ADMIN_TITLES,
  CITIES,
  COURSE_TEMPLATES,
  DISABILITIES,
  FIRST_NAMES,
  HOME_LANGUAGES,
  LAST_NAMES,
  SCHOOL_STEMS,
  STAFF_DEPARTMENTS,
  STAFF_TITLES,
  STATES,
  STREETS,
  TEACHER_TITLES,
  asciiSlug,
} from './names.js';
import { Rng, hashKey } from './prng.js';

// JSON shapes of Clever v3.0 / v3.1 records. Field values are drawn from a PRNG seeded by the
// record's key, so a record renders identically every time; the quirk switches use the record's
// index arithmetic (not randomness) so their counts can be computed without scanning.

export type Json = Record<string, unknown>;

const stampCache: string[] = [];
export function stamp(day: number): string {
  let s = stampCache[day];
  if (s === undefined) {
    s = isoAt(dayStamp(day));
    stampCache[day] = s;
  }
  return s;
}

export function gradeName(g: number): string {
  return g === 0 ? 'Kindergarten' : String(g);
}

/** Calendar year in which school year y starts (year 0 = 2025-26). */
export function schoolYearStart(year: number): number {
  return 2025 + year;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

interface PersonName {
  first: string;
  middle: string;
  last: string;
}

/** Salts keep the draws of different record types independent. */
const SALT = {
  student: 0x5001,
  contact: 0x5002,
  teacher: 0x5003,
  staff: 0x5004,
  admin: 0x5005,
  section: 0x5006,
};

function baseName(rng: Rng): PersonName {
  const first = rng.pick(FIRST_NAMES);
  const middle = rng.chance(0.45) ? rng.pick(FIRST_NAMES) : '';
  const last = rng.pick(LAST_NAMES);
  return { first, middle, last };
}

/** Base (uncorrected) name of a user; used for emails, which do not follow later name changes. */
export function userBaseName(m: DistrictModel, key: number): PersonName {
  const block = keyBlock(key);
  const salt =
    block === BLOCK.student ? SALT.student : block === BLOCK.contact ? SALT.contact : SALT.teacher + block;
  return baseName(new Rng(hashKey(m.salt ^ salt, key)));
}

function staffEmail(m: DistrictModel, key: number, tag: string, i: number): string {
  const n = userBaseName(m, key);
  return `${asciiSlug(n.first)}.${asciiSlug(n.last)}${tag}${i}@${m.slug}.example.org`;
}

function location(rng: Rng, quirkNulls: boolean): Json {
  const address = `${100 + rng.int(9800)} ${rng.pick(STREETS)}`;
  const city = rng.pick(CITIES);
  const state = rng.pick(STATES);
  const zip = pad(rng.int(99_999), 5);
  const lat = (30 + rng.next() * 15).toFixed(4);
  const lon = (-120 + rng.next() * 40).toFixed(4);
  return quirkNulls
    ? { address: null, city, state, zip, lat: null, lon: null }
    : { address, city, state, zip, lat, lon };
}

// ------------------------------------------------------------------------------------ district

export function renderDistrict(m: DistrictModel, v31: boolean): Json {
  const rng = new Rng(hashKey(m.salt ^ 0xd15, 0));
  const contact = baseName(rng);
  const out: Json = {
    id: m.id,
    name: m.name,
    sis_type: rng.pick(['sftp', 'powerschool', 'infinite_campus', 'oneroster']),
    launch_date: '2019-07-15',
    portal_url: `https://clever.com/in/${m.slug}`,
    login_methods: ['Clever Badges', 'Google'],
    last_sync: stamp(m.day),
    state: 'success',
    error: '',
    pause_start: null,
    pause_end: null,
    // Quirk: identifiers with leading zeros.
    mdr_number: m.quirks ? `0${rng.digits(7)}` : `${1 + rng.int(9)}${rng.digits(7)}`,
    nces_id: `06${rng.digits(5)}`,
    district_contact: {
      id: m.codec.encode(COLL.user, makeKey(0, BLOCK.district_admin, 0)),
      district: m.id,
      email: `${asciiSlug(contact.first)}.${asciiSlug(contact.last)}@${m.slug}.example.org`,
      name: { first: contact.first, middle: contact.middle, last: contact.last },
      title: 'Director of Technology',
    },
  };
  if (v31) {
    out.lms_type = 'canvas';
    out.lms_state = 'success';
    out.last_attendance_sync = null;
  }
  return out;
}

// ------------------------------------------------------------------------------------ schools

export function schoolName(m: DistrictModel, idx: number): string {
  const s = m.school(idx);
  const stem = SCHOOL_STEMS[(idx + (m.salt % 7)) % SCHOOL_STEMS.length] as string;
  const round = Math.floor(idx / SCHOOL_STEMS.length);
  const suffix =
    s.level === 'elementary'
      ? 'Elementary School'
      : s.level === 'middle'
        ? 'Middle School'
        : s.level === 'high'
          ? 'High School'
          : s.level === 'k8'
            ? 'K-8 School'
            : s.level === 'k12'
              ? 'Academy'
              : 'Alternative Learning Center';
  return `${stem}${round > 0 ? ` ${round + 1}` : ''} ${suffix}`;
}

export function renderSchool(m: DistrictModel, key: number, asOf: number): Json | null {
  if (keyDay(key) !== 0 || keyBlock(key) !== 0) return null;
  const idx = keyIndex(key);
  if (idx >= m.layout.schools.length || !m.schoolShared(idx, asOf)) return null;
  const s = m.school(idx);
  const rng = new Rng(hashKey(m.salt ^ 0x5c0, key));
  const principal = baseName(rng);
  const q = m.quirks;
  const out: Json = {
    id: m.codec.encode(COLL.school, key),
    district: m.id,
    name: schoolName(m, idx),
    created: stamp(0),
    last_modified: stamp(0),
    sis_id: String(100 + idx),
    // Quirk: leading zeros ("007").
    school_number: q ? pad(idx + 1, 3) : String(idx + 1),
    state_id: q && idx % 4 === 3 ? null : `${rng.digits(9)}`,
    nces_id: `06${rng.digits(10)}`,
    mdr_number: q && idx % 3 === 1 ? null : rng.digits(8),
    phone: q && idx % 3 === 2 ? null : `(555) 555-${pad(rng.int(10_000), 4)}`,
    low_grade: gradeName(s.low),
    high_grade: gradeName(s.high),
    principal: {
      name: `${principal.first} ${principal.last}`,
      email: `${asciiSlug(principal.first)}.${asciiSlug(principal.last)}@${m.slug}.example.org`,
    },
    location: location(rng, false),
  };
  if (q) out.ext = { region: rng.pick(['North', 'South', 'East', 'West']), title_i: rng.chance(0.5) };
  return out;
}

// ------------------------------------------------------------------------------------ terms, courses

export function termDates(
  m: DistrictModel,
  year: number,
  idx: number,
): { name: string; start: string; end: string } {
  const n = m.shape.terms;
  const y0 = schoolYearStart(year);
  const startMs = Date.UTC(y0, 7, 18);
  const endMs = Date.UTC(y0 + 1, 5, 12);
  const span = Math.floor((endMs - startMs) / DAY_MS);
  const a = startMs + Math.floor((span * idx) / n) * DAY_MS;
  const b = startMs + (Math.floor((span * (idx + 1)) / n) - (idx + 1 < n ? 1 : 0)) * DAY_MS;
  const label =
    n === 1
      ? 'Full Year'
      : n === 2
        ? idx === 0
          ? 'Fall Semester'
          : 'Spring Semester'
        : n === 3
          ? `Trimester ${idx + 1}`
          : n === 4
            ? `Quarter ${idx + 1}`
            : `Term ${idx + 1}`;
  return {
    name: `${label} ${y0}-${String((y0 + 1) % 100).padStart(2, '0')}`,
    start: new Date(a).toISOString().slice(0, 10),
    end: new Date(b).toISOString().slice(0, 10),
  };
}

export function renderTerm(m: DistrictModel, key: number, asOf: number): Json | null {
  const year = m.termYear(key);
  if (year < 0 || m.yearAt(asOf) !== year) return null;
  const t = termDates(m, year, keyIndex(key));
  return {
    id: m.codec.encode(COLL.term, key),
    district: m.id,
    name: t.name,
    start_date: t.start,
    end_date: t.end,
  };
}

export function courseInfo(
  m: DistrictModel,
  idx: number,
): { name: string; subject: string; number: string | null } {
  const tpl = COURSE_TEMPLATES[idx % COURSE_TEMPLATES.length] as (typeof COURSE_TEMPLATES)[number];
  const round = Math.floor(idx / COURSE_TEMPLATES.length);
  return {
    name: round > 0 ? `${tpl.name} ${round + 1}` : tpl.name,
    subject: tpl.subject,
    // Quirk: a course without a number.
    number: m.quirks && idx % 11 === 10 ? null : `C${pad(idx + 1, 4)}`,
  };
}

export function renderCourse(m: DistrictModel, key: number): Json | null {
  if (keyDay(key) !== 0 || keyBlock(key) !== 0 || keyIndex(key) >= m.shape.courses) return null;
  const c = courseInfo(m, keyIndex(key));
  return { id: m.codec.encode(COLL.course, key), district: m.id, name: c.name, number: c.number };
}

// ------------------------------------------------------------------------------------ sections

export function sectionCourse(m: DistrictModel, teacher: number, period: number): number {
  const s = m.school(m.layout.teacherSchool(teacher));
  return (s.index * 3 + period * 5 + (teacher - s.teacherStart)) % m.shape.courses;
}

export function renderSection(m: DistrictModel, key: number, asOf: number, v31: boolean): Json | null {
  const d = m.decodeSection(key);
  if (!d || !m.sectionServed(key, asOf)) return null;
  const idx = keyIndex(key);
  const rng = new Rng(hashKey(m.salt ^ SALT.section, key));
  const teachers = m.sectionTeachers(key, asOf);
  const primary = teachers[0] ?? d.teacher;
  const courseIdx = sectionCourse(m, d.teacher, d.period);
  const course = courseInfo(m, courseIdx);
  const teacherName = userBaseName(m, m.teacherKey(primary));
  const lay = m.schoolLayout(d.school, d.year);
  const school = m.school(d.school);
  let grade = school.low;
  if (lay.total > 0 && school.teacherCount > 0) {
    // Grade of the student in the middle of the section's (rotated) block of the school's roster.
    const t = d.teacher - school.teacherStart;
    const mid = Math.floor(
      (Math.ceil((t * lay.total) / school.teacherCount) +
        Math.ceil(((t + 1) * lay.total) / school.teacherCount)) /
        2,
    );
    const li = (((mid - d.period * lay.shift) % lay.total) + lay.total) % lay.total;
    for (const r of lay.ranges) {
      if (li >= r.local && li < r.local + r.hi - r.lo) {
        const g = m.cohortGrade(makeKey(r.gen.day, BLOCK.student, r.lo + li - r.local), d.year);
        if (g >= school.low && g <= school.high) grade = g;
        break;
      }
    }
  }
  const q = m.quirks;
  const created = m.yearDay[d.year] ?? 0;
  const touched = lastDayAsOf(m.touchedSections.get(key), asOf);
  const out: Json = {
    id: m.codec.encode(COLL.section, key),
    district: m.id,
    school: m.codec.encode(COLL.school, m.schoolKey(d.school)),
    name: `${course.name} - ${teacherName.last} - ${d.period + 1}`,
    sis_id: `${schoolYearStart(d.year)}-${pad(idx + 1, 6)}`,
    section_number: `${d.period + 1}${pad(d.teacher - school.teacherStart + 1, 3)}`,
    // Quirk: a few nulls in nullable fields.
    period: q && idx % 47 === 9 ? null : String(d.period + 1),
    grade: gradeName(grade),
    subject: q && idx % 61 === 13 ? '' : course.subject,
    course: m.codec.encode(COLL.course, m.courseKey(courseIdx)),
    term_id: m.codec.encode(COLL.term, m.termKey(d.year, (d.teacher + d.period) % m.shape.terms)),
    teacher: m.codec.encode(COLL.user, m.servedKey(m.teacherKey(primary), asOf)),
    teachers: teachers.map((t) => m.codec.encode(COLL.user, m.servedKey(m.teacherKey(t), asOf))),
    students: m.sectionStudents(key, asOf).map((k) => m.codec.encode(COLL.user, m.servedKey(k, asOf))),
    created: stamp(created),
    last_modified: stamp(Math.max(created, touched)),
  };
  if (q) out.ext = { room: `${100 + rng.int(300)}` };
  if (v31) out.lms_status = { synced_in_lms: rng.chance(0.3) };
  return out;
}

// ------------------------------------------------------------------------------------ users

/**
 * created / last_modified of a user. Students are promoted by every rollover after their creation
 * year (`promotedAfterYear`), which modifies them; other users change only through individual edits.
 */
function userStamps(
  m: DistrictModel,
  key: number,
  createdDay: number,
  promotedAfterYear: number | null,
  asOf: number,
): [string, string] {
  let last = createdDay;
  if (promotedAfterYear !== null) {
    const year = m.yearAt(asOf);
    if (year > promotedAfterYear) last = Math.max(last, m.yearDay[year] ?? 0);
  }
  last = Math.max(last, lastDayAsOf(m.touchedUsers.get(key), asOf));
  return [stamp(createdDay), stamp(last)];
}

function studentQuirkIndex(m: DistrictModel, key: number): number {
  return m.genOf(key) ? keyIndex(key) : hashKey(m.salt ^ 0x9e, key) % 10_007;
}

/** Whether a student is served without an email address (quirk; by index so it can be counted). */
export function studentHasNoEmail(quirks: boolean, qi: number): boolean {
  return quirks && qi % 11 === 3;
}

export function studentNoEmailByKey(m: DistrictModel, key: number): boolean {
  return studentHasNoEmail(m.quirks, studentQuirkIndex(m, key));
}

function studentSisNumber(m: DistrictModel, key: number): number {
  const gen = m.genOf(key);
  const i = keyIndex(key);
  if (gen) return gen.g === 0 ? 100_000 + i : 500_000_000 + gen.g * 10_000_000 + i;
  return 900_000_000 + keyDay(key) * 10_000 + i;
}

const RACES: readonly string[] = [
  'Caucasian',
  'Asian',
  'Black or African American',
  'American Indian',
  'Hawaiian or Other Pacific Islander',
  'Two or More Races',
  'Unknown',
];

// Students and contacts are most of /users, so they have a second, string-building emitter next to
// the object one: both read the same computed values (so they cannot drift; a test checks they
// are byte-identical), and the string path skips allocating nested objects and JSON.stringify,
// roughly doubling serving throughput.

/** JSON string literal; fast path for the (common) strings that need no escaping. */
function js(v: string | null | undefined): string {
  if (v === null || v === undefined) return 'null';
  return needsEscape(v) ? JSON.stringify(v) : `"${v}"`;
}

/** Whether JSON.stringify would escape something in `v` (quote, backslash, control characters). */
function needsEscape(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

function nameJson(n: PersonName): string {
  return `{"first":${js(n.first)},"middle":${js(n.middle)},"last":${js(n.last)}}`;
}

interface StudentValues {
  id: string;
  /** undefined = the key is absent (quirk). */
  email: string | null | undefined;
  name: PersonName;
  created: string;
  lastModified: string;
  sis: string;
  stateId: string | null;
  studentNumber: string;
  school: string;
  grade: string;
  gradYear: string;
  dob: string;
  gender: string;
  race: string;
  hisp: string;
  ell: string;
  startDate: string;
  location: Json;
  username: string;
  ext: { homeroom: string; bus: string | null } | null;
  roleEmail: string | null;
  v31: {
    frl: string;
    iep: string;
    gifted: string;
    s504: string;
    disabled: boolean;
    disType: string;
    disCode: string;
    lang: string;
    langCode: string;
    preferred: PersonName;
    lms: boolean;
  } | null;
  sisSource: boolean;
}

const facts: StudentFacts = {
  createdDay: 0,
  yearAt: 0,
  gradeAt: 0,
  genIndex: 0,
  year: 0,
  school: 0,
  grade: 0,
};

function studentValues(m: DistrictModel, key: number, asOf: number, v31: boolean): StudentValues | null {
  const f = facts;
  if (!m.describeStudent(key, asOf, f)) return null;
  const q = m.quirks;
  const qi = f.genIndex >= 0 ? f.genIndex : studentQuirkIndex(m, key);
  const rng = new Rng(hashKey(m.salt ^ SALT.student, key));
  const base = baseName(rng);
  const ov = m.nameOverride.size > 0 ? latestAsOf(m.nameOverride.get(key), asOf) : undefined;
  const name = ov ? { first: ov.first, middle: base.middle, last: ov.last } : base;
  const year = f.year;
  const school = m.schoolId(f.school);
  const yearAt = f.yearAt;
  const gradYear = schoolYearStart(yearAt) + 1 + 12 - f.gradeAt;
  const grade = f.grade;
  const createdDay = f.createdDay;
  const bd = new Date(Date.UTC(gradYear - 19, 8, 1) + rng.int(365) * DAY_MS);
  const sis = studentSisNumber(m, key);
  const fs = asciiSlug(base.first);
  const ls = asciiSlug(base.last);
  const email = `${fs}.${ls}.${sis}@students.${m.slug}.example.org`;
  const gender = rng.chance(0.01) ? 'X' : rng.chance(0.5) ? 'F' : 'M';
  const race = rng.pick(RACES);
  const [created, lastModified] = userStamps(m, key, createdDay, yearAt, asOf);
  const noEmail = studentHasNoEmail(q, qi);
  const stateId = rng.digits(10);
  const loc = location(rng, q && qi % 17 === 9);
  const ell = rng.chance(0.12) ? 'Y' : 'N';
  const hisp = rng.chance(0.3) ? 'Y' : 'N';
  const v: StudentValues = {
    id: m.codec.encode(COLL.user, key),
    // Quirk: students without email, some with the key absent and some with null.
    email: !noEmail ? email : qi % 2 === 1 ? null : undefined,
    name,
    created,
    lastModified,
    sis: String(sis),
    // Quirks: nulls in nullable fields; leading zeros in identifiers; empty strings in enums.
    stateId: q && qi % 13 === 6 ? null : stateId,
    studentNumber: q ? pad(((sis - 100_000) % 999_999) + 1, 6) : String(sis),
    school,
    grade: gradeName(grade),
    gradYear: String(gradYear),
    // Clever's dob is M/D/YYYY without zero padding.
    dob: `${bd.getUTCMonth() + 1}/${bd.getUTCDate()}/${bd.getUTCFullYear()}`,
    gender: q && qi % 23 === 7 ? '' : gender,
    race: q && qi % 19 === 5 ? '' : race,
    hisp: q && qi % 29 === 11 ? '' : hisp,
    ell,
    startDate: `${schoolYearStart(year)}-08-18`,
    location: loc,
    username: `${fs}${ls}${sis % 100_000}`,
    ext: null,
    roleEmail: null,
    v31: null,
    sisSource: q && qi % 31 === 4,
  };
  if (q) {
    v.ext = { homeroom: `${100 + rng.int(300)}`, bus: rng.chance(0.5) ? String(1 + rng.int(40)) : null };
    // Quirk: an undocumented `email` inside roles.student (seen in real v3.0 responses).
    if (!noEmail && qi % 7 === 0) v.roleEmail = email;
  }
  if (v31) {
    const lang = rng.chance(0.7)
      ? (HOME_LANGUAGES[0] as readonly [string, string])
      : rng.pick(HOME_LANGUAGES);
    const disabled = rng.chance(0.13);
    const dis = rng.pick(DISABILITIES);
    const frl = rng.pick(FRL);
    v.v31 = {
      frl: frl === 'Other' && q && qi % 37 === 2 ? '' : frl,
      iep: disabled ? 'Y' : 'N',
      gifted: rng.chance(0.08) ? 'Y' : 'N',
      s504: rng.chance(0.04) ? 'Y' : q && qi % 41 === 8 ? '' : 'N',
      disabled,
      disType: dis[0],
      disCode: dis[1],
      lang: lang[0],
      langCode: lang[1],
      preferred: {
        first: rng.chance(0.1) ? rng.pick(FIRST_NAMES) : name.first,
        middle: name.middle,
        last: name.last,
      },
      lms: rng.chance(0.4),
    };
  }
  return v;
}

const FRL: readonly string[] = ['Free', 'Reduced', 'Paid', 'Paid', 'Other'];

function studentObject(m: DistrictModel, v: StudentValues): Json {
  const student: Json = {
    created: v.created,
    last_modified: v.lastModified,
    sis_id: v.sis,
    state_id: v.stateId,
    student_number: v.studentNumber,
    school: v.school,
    schools: [v.school],
    grade: v.grade,
    graduation_year: v.gradYear,
    dob: v.dob,
    gender: v.gender,
    race: v.race,
    hispanic_ethnicity: v.hisp,
    ell_status: v.ell,
    enrollments: [{ school: v.school, start_date: v.startDate }],
    location: v.location,
    credentials: { district_username: v.username },
  };
  if (v.ext) student.ext = { homeroom: v.ext.homeroom, bus_route: v.ext.bus };
  if (v.roleEmail !== null) student.email = v.roleEmail;
  const x = v.v31;
  if (x) {
    student.frl_status = x.frl;
    student.iep_status = x.iep;
    student.gifted_status = x.gifted;
    student.section_504_status = x.s504;
    student.disability = x.disabled
      ? { disability_status: 'Y', disability_type: x.disType, disability_code: x.disCode }
      : { disability_status: 'N', disability_type: null, disability_code: null };
    student.home_language = x.lang;
    student.home_language_code = x.langCode;
    student.preferred_name = x.preferred;
  }
  const out: Json = { id: v.id, district: m.id };
  if (v.email !== undefined) out.email = v.email;
  out.name = v.name;
  out.created = v.created;
  out.last_modified = v.lastModified;
  out.roles = { student };
  if (x) out.lms_status = { synced_in_lms: x.lms };
  // Quirk: an unknown top-level field.
  if (v.sisSource) out.sis_source = 'powerschool';
  return out;
}

/** Quoted value known to need no escaping (ids, dates, digits, enums, ASCII slugs), or null. */
function raw(v: string | null): string {
  return v === null ? 'null' : `"${v}"`;
}

function studentJson(m: DistrictModel, v: StudentValues): string {
  const s = `"${v.school}"`;
  const l = v.location;
  let st =
    `{"created":"${v.created}","last_modified":"${v.lastModified}","sis_id":"${v.sis}","state_id":${raw(v.stateId)}` +
    `,"student_number":"${v.studentNumber}","school":${s},"schools":[${s}],"grade":"${v.grade}"` +
    `,"graduation_year":"${v.gradYear}","dob":"${v.dob}","gender":"${v.gender}","race":"${v.race}"` +
    `,"hispanic_ethnicity":"${v.hisp}","ell_status":"${v.ell}","enrollments":[{"school":${s},"start_date":"${v.startDate}"}]` +
    `,"location":{"address":${raw(l.address as string | null)},"city":"${l.city as string}","state":"${l.state as string}"` +
    `,"zip":"${l.zip as string}","lat":${raw(l.lat as string | null)},"lon":${raw(l.lon as string | null)}}` +
    `,"credentials":{"district_username":"${v.username}"}`;
  if (v.ext) st += `,"ext":{"homeroom":"${v.ext.homeroom}","bus_route":${raw(v.ext.bus)}}`;
  if (v.roleEmail !== null) st += `,"email":"${v.roleEmail}"`;
  const x = v.v31;
  if (x) {
    st +=
      `,"frl_status":"${x.frl}","iep_status":"${x.iep}","gifted_status":"${x.gifted}","section_504_status":"${x.s504}"` +
      (x.disabled
        ? `,"disability":{"disability_status":"Y","disability_type":"${x.disType}","disability_code":"${x.disCode}"}`
        : ',"disability":{"disability_status":"N","disability_type":null,"disability_code":null}') +
      `,"home_language":"${x.lang}","home_language_code":"${x.langCode}","preferred_name":${nameJson(x.preferred)}`;
  }
  let out = `{"id":"${v.id}","district":"${m.id}"`;
  if (v.email !== undefined) out += `,"email":${raw(v.email)}`;
  out += `,"name":${nameJson(v.name)},"created":"${v.created}","last_modified":"${v.lastModified}","roles":{"student":${st}}}`;
  if (x) out += `,"lms_status":{"synced_in_lms":${x.lms}}`;
  if (v.sisSource) out += ',"sis_source":"powerschool"';
  return `${out}}`;
}

function renderStudent(m: DistrictModel, key: number, asOf: number, v31: boolean): Json | null {
  const v = studentValues(m, key, asOf, v31);
  return v ? studentObject(m, v) : null;
}

const RELATIONSHIP_FIRST: readonly string[] = [
  'Parent',
  'Parent',
  'Parent',
  'Grandparent',
  'Aunt/Uncle',
  'Other',
];
const RELATIONSHIP_OTHER: readonly string[] = ['Parent', 'Grandparent', 'Sibling', 'Aunt/Uncle', 'Other'];
const TYPE_FIRST: readonly string[] = ['Parent/Guardian', 'Parent/Guardian', 'Primary'];
const TYPE_OTHER: readonly string[] = ['Emergency', 'Secondary', 'Family', 'Other'];
const PHONE_TYPES: readonly string[] = ['Cell', 'Cell', 'Home', 'Work'];
const CONTACT_DOMAINS: readonly string[] = ['example.com', 'example.net'];

export function contactQuirkIndex(m: DistrictModel, key: number): number {
  return m.contactGen(key) ? keyIndex(key) : hashKey(m.salt ^ 0x9f, key) % 10_007;
}

interface ContactValues {
  id: string;
  email: string | null;
  name: PersonName;
  created: string;
  lastModified: string;
  sis: string | null;
  phone: string;
  phoneType: string;
  rels: Array<{ student: string; relationship: string; type: string }>;
  legacy: string | null;
  lms: boolean;
}

function contactValues(m: DistrictModel, key: number, asOf: number): ContactValues | null {
  const students = m.contactStudents(key);
  if (!students) return null;
  const alive = students.filter((s) => m.studentAlive(s, asOf));
  if (alive.length === 0) return null;
  const q = m.quirks;
  const qi = contactQuirkIndex(m, key);
  const rng = new Rng(hashKey(m.salt ^ SALT.contact, key));
  const own = baseName(rng);
  // Most contacts share the last name of their first student.
  const familyLast = rng.chance(0.7) ? userBaseName(m, students[0] as number).last : own.last;
  // Quirk: the whole name in name.last.
  const whole = q && qi % 9 === 4;
  const name = whole
    ? { first: '', middle: '', last: `${own.first} ${familyLast}` }
    : { first: own.first, middle: '', last: familyLast };
  const gen = m.contactGen(key);
  let email: string | null =
    `${asciiSlug(own.first)}${asciiSlug(familyLast)}${keyIndex(key) % 1000}@${rng.pick(CONTACT_DOMAINS)}`;
  if (q && qi % 8 === 5) email = null;
  // Quirk: a parent who is also a staff member uses the same email for both records.
  if (q && gen?.g === 0 && keyIndex(key) === 2 && m.layout.staff > 0)
    email = staffEmail(m, makeKey(0, BLOCK.staff, 0), '.s', 0);
  const phone = `(555) ${pad(rng.int(1000), 3)}-${pad(rng.int(10_000), 4)}`;
  const phoneType = q && qi % 10 === 7 ? '' : rng.pick(PHONE_TYPES);
  const quirkRel = q && qi % 14 === 6;
  const rels = alive.map((s, n) => {
    const r = new Rng(hashKey(m.salt ^ 0x7e1, key + s));
    const first = n === 0;
    const relationship = quirkRel ? '' : r.pick(first ? RELATIONSHIP_FIRST : RELATIONSHIP_OTHER);
    return {
      student: m.codec.encode(COLL.user, m.servedKey(s, asOf)),
      relationship,
      type: r.pick(first ? TYPE_FIRST : TYPE_OTHER),
    };
  });
  const [created, lastModified] = userStamps(m, key, keyDay(key), null, asOf);
  const id = m.codec.encode(COLL.user, key);
  return {
    id,
    email,
    name,
    created,
    lastModified,
    sis: q && qi % 12 === 1 ? null : `P${pad(keyIndex(key) + 1, 7)}`,
    phone,
    phoneType,
    rels,
    legacy: q ? id.split('').reverse().join('') : null,
    lms: false,
  };
}

function contactObject(m: DistrictModel, v: ContactValues, v31: boolean): Json {
  const contact: Json = {
    sis_id: v.sis,
    phone: v.phone,
    phone_type: v.phoneType,
    student_relationships: v.rels,
  };
  if (v.legacy !== null) contact.legacy_id = v.legacy;
  const out: Json = {
    id: v.id,
    district: m.id,
    email: v.email,
    name: v.name,
    created: v.created,
    last_modified: v.lastModified,
    roles: { contact },
  };
  if (v31) out.lms_status = { synced_in_lms: v.lms };
  return out;
}

function contactJson(m: DistrictModel, v: ContactValues, v31: boolean): string {
  let rels = '';
  for (const r of v.rels) {
    rels += `${rels === '' ? '' : ','}{"student":"${r.student}","relationship":"${r.relationship}","type":"${r.type}"}`;
  }
  let c = `{"sis_id":${raw(v.sis)},"phone":"${v.phone}","phone_type":"${v.phoneType}","student_relationships":[${rels}]`;
  if (v.legacy !== null) c += `,"legacy_id":"${v.legacy}"`;
  let out =
    `{"id":"${v.id}","district":"${m.id}","email":${raw(v.email)},"name":${nameJson(v.name)}` +
    `,"created":"${v.created}","last_modified":"${v.lastModified}","roles":{"contact":${c}}}`;
  if (v31) out += `,"lms_status":{"synced_in_lms":${v.lms}}`;
  return `${out}}`;
}

function renderContact(m: DistrictModel, key: number, asOf: number, v31: boolean): Json | null {
  const v = contactValues(m, key, asOf);
  return v ? contactObject(m, v, v31) : null;
}

function credentials(n: PersonName, i: number, tag: string): Json {
  return { district_username: `${asciiSlug(n.first).slice(0, 1)}${asciiSlug(n.last)}${tag}${i}` };
}

function legacyId(m: DistrictModel, key: number): string {
  // Non-student users got new ids in v3; the v2 id survives as legacy_id (a different 24-hex id).
  const h1 = hashKey(m.salt ^ 0x1e9, key)
    .toString(16)
    .padStart(8, '0');
  const h2 = hashKey(m.salt ^ 0x2e9, key)
    .toString(16)
    .padStart(8, '0');
  const h3 = hashKey(m.salt ^ 0x3e9, key)
    .toString(16)
    .padStart(8, '0');
  return `${h1}${h2}${h3}`;
}

function renderTeacher(m: DistrictModel, key: number, i: number, asOf: number, v31: boolean): Json | null {
  if (!m.teacherAlive(i, asOf)) return null;
  const q = m.quirks;
  const rng = new Rng(hashKey(m.salt ^ (SALT.teacher + BLOCK.teacher), key) ^ 0xabc);
  const name = userBaseName(m, key);
  const school = m.codec.encode(COLL.school, m.schoolKey(m.layout.teacherSchool(i)));
  const [created, lastModified] = userStamps(m, key, 0, null, asOf);
  const teacher: Json = {
    sis_id: `T${pad(i + 1, 6)}`,
    state_id: q && i % 9 === 4 ? null : rng.digits(9),
    teacher_number: q ? pad(i + 1, 5) : String(10_000 + i),
    title: q && i % 13 === 6 ? null : rng.pick(TEACHER_TITLES),
    school,
    schools: [school],
    credentials: credentials(name, i, 't'),
  };
  const roles: Json = { teacher };
  if (q) {
    teacher.legacy_id = legacyId(m, key);
    teacher.ext = { certification: rng.pick(['Multiple Subject', 'Single Subject', 'Special Education']) };
    if (m.isMultiRole(i)) {
      roles.staff = {
        staff_id: `ST${pad(i + 1, 6)}`,
        title: 'Department Chair',
        department: rng.pick(STAFF_DEPARTMENTS),
        roles: ['Department Chair'],
        schools: [school],
        credentials: credentials(name, i, 't'),
        legacy_id: legacyId(m, key + 1),
      };
    }
    if (m.hasAdminRole(i))
      roles.district_admin = { title: 'Assessment Coordinator', legacy_id: legacyId(m, key + 2) };
  }
  const out: Json = {
    id: m.codec.encode(COLL.user, key),
    district: m.id,
    email: staffEmail(m, key, '.t', i),
    name,
    created,
    last_modified: lastModified,
    roles,
  };
  if (v31) out.lms_status = { synced_in_lms: rng.chance(0.6) };
  return out;
}

function renderStaff(m: DistrictModel, key: number, i: number, asOf: number, v31: boolean): Json | null {
  if (!m.staffAlive(i, asOf)) return null;
  const q = m.quirks;
  const rng = new Rng(hashKey(m.salt ^ (SALT.teacher + BLOCK.staff), key) ^ 0xabc);
  const name = userBaseName(m, key);
  const s = m.layout.staffSchool(i);
  const schools = s < 0 ? [] : [m.codec.encode(COLL.school, m.schoolKey(s))];
  const title = rng.pick(STAFF_TITLES);
  const [created, lastModified] = userStamps(m, key, 0, null, asOf);
  const staff: Json = {
    staff_id: q ? pad(i + 1, 6) : `S${10_000 + i}`,
    title,
    department: q && i % 5 === 3 ? null : rng.pick(STAFF_DEPARTMENTS),
    roles: [title],
    schools,
    credentials: credentials(name, i, 's'),
  };
  if (q) {
    staff.legacy_id = legacyId(m, key);
    staff.ext = { badge: rng.digits(6) };
  }
  const out: Json = {
    id: m.codec.encode(COLL.user, key),
    district: m.id,
    email: staffEmail(m, key, '.s', i),
    name,
    created,
    last_modified: lastModified,
    roles: { staff },
  };
  if (v31) out.lms_status = { synced_in_lms: false };
  return out;
}

function renderAdmin(m: DistrictModel, key: number, i: number, v31: boolean): Json | null {
  if (i < 0) return null;
  const rng = new Rng(hashKey(m.salt ^ (SALT.teacher + BLOCK.district_admin), key) ^ 0xabc);
  const name = userBaseName(m, key);
  const admin: Json = { title: rng.pick(ADMIN_TITLES) };
  if (m.quirks) admin.legacy_id = legacyId(m, key);
  const out: Json = {
    id: m.codec.encode(COLL.user, key),
    district: m.id,
    email: staffEmail(m, key, '.a', i),
    name,
    created: stamp(0),
    last_modified: stamp(0),
    roles: { district_admin: admin },
  };
  if (v31) out.lms_status = { synced_in_lms: false };
  return out;
}

/** A user as served at the end of day `asOf`, or null when it is not served. */
export function renderUser(m: DistrictModel, key: number, asOf: number, v31: boolean): Json | null {
  if (m.rekeyedTo.size === 0) return renderPerson(m, key, asOf, v31);
  // Re-keys: a person is served under its latest key only, with every fact of its first key.
  if (!m.servedUnder(key, asOf)) return null;
  const person = m.personOf(key);
  if (person === key) return renderPerson(m, key, asOf, v31);
  const obj = renderPerson(m, person, asOf, v31);
  if (obj === null) return null;
  return { ...obj, id: m.codec.encode(COLL.user, key) };
}

function renderPerson(m: DistrictModel, key: number, asOf: number, v31: boolean): Json | null {
  switch (keyBlock(key)) {
    case BLOCK.student:
      return m.isStudentKey(key) ? renderStudent(m, key, asOf, v31) : null;
    case BLOCK.contact:
      return renderContact(m, key, asOf, v31);
    case BLOCK.teacher: {
      const i = m.teacherIndexOf(key);
      return i < 0 ? null : renderTeacher(m, key, i, asOf, v31);
    }
    case BLOCK.staff: {
      const i = m.staffIndexOf(key);
      return i < 0 ? null : renderStaff(m, key, i, asOf, v31);
    }
    case BLOCK.district_admin:
      return renderAdmin(m, key, m.adminIndexOf(key), v31);
    default:
      return null;
  }
}

/** A user as JSON text, byte-identical to JSON.stringify(renderUser(...)); the hot path of /users. */
export function renderUserJson(m: DistrictModel, key: number, asOf: number, v31: boolean): string | null {
  const block = keyBlock(key);
  if (m.rekeyedTo.size > 0 && (!m.servedUnder(key, asOf) || m.personOf(key) !== key)) {
    const obj = renderUser(m, key, asOf, v31);
    return obj ? JSON.stringify(obj) : null;
  }
  if (block === BLOCK.student) {
    const v = m.isStudentKey(key) ? studentValues(m, key, asOf, v31) : null;
    return v ? studentJson(m, v) : null;
  }
  if (block === BLOCK.contact) {
    const v = contactValues(m, key, asOf);
    return v ? contactJson(m, v, v31) : null;
  }
  const obj = renderUser(m, key, asOf, v31);
  return obj ? JSON.stringify(obj) : null;
}

/** Any record of a collection, by collection code. */
export function renderRecord(
  m: DistrictModel,
  coll: CollCode,
  key: number,
  asOf: number,
  v31: boolean,
): Json | null {
  switch (coll) {
    case COLL.user:
      return renderUser(m, key, asOf, v31);
    case COLL.section:
      return renderSection(m, key, asOf, v31);
    case COLL.school:
      return renderSchool(m, key, asOf);
    case COLL.term:
      return renderTerm(m, key, asOf);
    case COLL.course:
      return renderCourse(m, key);
    default:
      return null;
  }
}
