// Public types of the Clever API simulator. The engine's demo, tests and benchmarks program against
// exactly these names, so changes here are API changes.

/** The five Clever v3 user roles. */
export type Role = 'student' | 'teacher' | 'staff' | 'district_admin' | 'contact';

/** The Clever collections a change day reports on (districts never change in the simulator). */
export type Collection = 'schools' | 'users' | 'sections' | 'terms' | 'courses';

export type DayKind = 'normal' | 'rollover' | 'bad_sharing' | 'rekey';

export type FaultKind = '500' | '502' | '503' | '429' | 'reset' | 'truncated' | 'slow';

export interface FaultOptions {
  /** Share of data requests (paths under /v3.0 and /v3.1) that fault, 0..1. */
  rate: number;
  /** Kinds to draw from, uniformly. Default: all kinds. */
  kinds?: FaultKind[];
  /** Delay of a `slow` response, ms. Default 1500. */
  slowMs?: number;
  /** Seed of the fault sequence. Default 1. */
  seed?: number;
}

export interface SimulatorOptions {
  /** Seed of everything generated. Default 1. */
  seed?: number;
  /** Number of districts, each with its own token. Default 1, max 255. */
  districts?: number;
  /** Schools with students, per district. Default 6 (with quirks one empty school is added). */
  schools?: number;
  /** Students per district. Default 1000. */
  students?: number;
  /** Teachers per district. Default max(2, ceil(students / 20)). */
  teachers?: number;
  /** School staff (role `staff`) per district. Default max(1, ceil(students / 100)). */
  staff?: number;
  /** District admins per district. Default 2. */
  districtAdmins?: number;
  /** Contacts per student; fractions allowed (1.5 = half the students have 2). Default 1. */
  contactsPerStudent?: number;
  /** Sections per teacher, one per period. Default 4. */
  sectionsPerTeacher?: number;
  /** Terms per school year. Default 2. */
  terms?: number;
  /** Courses per district. Default 12. */
  courses?: number;
  /** Realistic data quirks (see docs/simulator.md). Default true. */
  quirks?: boolean;
  /** Fault injection. Default off. */
  faults?: FaultOptions;
  /**
   * The Events API is enabled for the app (Clever: opt-in in the app dashboard). Off: `/events` and
   * `/events/{id}` answer 403. Default true.
   */
  events?: boolean;
  /** Per-token fixed-window rate limit. Default 1200 requests per 60000 ms. */
  rateLimit?: { limit: number; windowMs: number };
  /** Fixes district 0's bearer token. Default derived from the seed. */
  token?: string;
  /** App credentials for /oauth/tokens. Defaults derived from the seed. */
  clientId?: string;
  clientSecret?: string;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default 0 (ephemeral). */
  port?: number;
  /** Clock in ms for rate-limit windows, OAuth code expiry and token timestamps. Default Date.now. */
  now?: () => number;
}

export interface GroundTruth {
  schools: number;
  terms: number;
  courses: number;
  sections: number;
  students: number;
  contacts: number;
  /** Users holding the role (a multi-role user counts in each of its roles). */
  teachers: number;
  staff: number;
  districtAdmins: number;
  /** Distinct users holding any of teacher / staff / district_admin. */
  staffPeople: number;
  /** Sum of section.students lengths. */
  studentEnrollments: number;
  /** Sum of section.teachers lengths. */
  teacherEnrollments: number;
  multiRoleStaff: number;
  studentsWithoutEmail: number;
  staffWithoutSchools: number;
}

export type IdsByCollection = Record<Collection, string[]>;

export interface DayRecord {
  day: number;
  kind: DayKind;
  /** Ids per collection that appeared that day. */
  created: IdsByCollection;
  /** Ids per collection whose served JSON changed that day (any served field). */
  updated: IdsByCollection;
  /** Ids per collection no longer served after that day. */
  deleted: IdsByCollection;
  /**
   * People served under a new id from this day on (a `rekey` day; empty on other days): `from` is
   * listed in `deleted`, `to` in `created`, with the same identifiers, names and emails.
   */
  rekeyed: Array<{ from: string; to: string; roles: Role[] }>;
  /** The same user changes split by role; a user is listed under each role it held. */
  usersByRole: {
    created: Record<Role, string[]>;
    updated: Record<Role, string[]>;
    deleted: Record<Role, string[]>;
  };
}

export interface SimulatedDistrict {
  id: string;
  name: string;
  token: string;
}

export interface CleverSimulator {
  /** Base URL without trailing slash and without version, e.g. http://127.0.0.1:40123. */
  url: string;
  /** District 0's bearer token. */
  token: string;
  districts: ReadonlyArray<SimulatedDistrict>;
  clientId: string;
  clientSecret: string;
  /** Applies `days` days of district life (default 1, kind 'normal', district 0) and returns their records. */
  advance(days?: number, kind?: DayKind, districtIndex?: number): DayRecord[];
  /** What the API currently serves for the district (default 0), as counts. */
  truth(districtIndex?: number): GroundTruth;
  /** Replaces the fault configuration (null = off) and restarts the fault sequence. */
  setFaults(f: FaultOptions | null): void;
  /** Requests received so far, all endpoints. */
  requestCount(): number;
  close(): Promise<void>;
}

export const ROLES: readonly Role[] = ['student', 'teacher', 'staff', 'district_admin', 'contact'];
export const COLLECTIONS: readonly Collection[] = ['schools', 'users', 'sections', 'terms', 'courses'];
