import { z } from 'zod';
import { GRADES } from './grade.js';

/**
 * The canonical roster model. Every source (Clever, CSV, hand entry) maps into these shapes; the
 * store persists them as `data` JSON plus a few indexed identifier columns, and the reconcile step
 * compares them by a hash of their canonical JSON.
 *
 * Conventions:
 * - Optional fields are omitted when the source has no value (never `""`), so that "no value" hashes
 *   the same whichever way a source spells it.
 * - References to other records (`schoolId`, `studentIds`, …) are *source ids* of records of the same
 *   district and source.
 * - Sensitive fields (demographics, date of birth) are optional and never logged.
 */

export const SOURCES = ['clever', 'csv', 'manual'] as const;
export type SourceKind = (typeof SOURCES)[number];
export const sourceSchema = z.enum(SOURCES);
/**
 * When one person's account is claimed by records of two sources, the higher one keeps it: a district
 * moving from CSV drops to Clever links its accounts to Clever, and a stray CSV drop cannot take them
 * back while the Clever record is active.
 */
export const SOURCE_PRECEDENCE: Record<SourceKind, number> = { manual: 0, csv: 1, clever: 2 };

export const STAFF_ROLES = ['teacher', 'staff', 'district_admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
export const staffRoleSchema = z.enum(STAFF_ROLES);

export const ACCESS_TYPES = ['district', 'school', 'caseload'] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];
export const accessTypeSchema = z.enum(ACCESS_TYPES);

/**
 * The schema of a canonical grade (grade.ts). Defined here, not there: the Clever decoder worker
 * loads grade.ts, and zod is ~150 ms of a worker's start.
 */
export const gradeSchema = z.enum(GRADES);

/** Roster entities that the store keeps as records (the district itself lives in its own table). */
export const ENTITIES = ['schools', 'terms', 'courses', 'sections', 'students', 'staff', 'contacts'] as const;
export type Entity = (typeof ENTITIES)[number];

const text = z.string().min(1);

export const personNameSchema = z.object({
  first: z.string().optional(),
  middle: z.string().optional(),
  last: z.string().optional(),
  preferredFirst: z.string().optional(),
  preferredMiddle: z.string().optional(),
  preferredLast: z.string().optional(),
});
export type PersonName = z.infer<typeof personNameSchema>;

export const locationSchema = z.object({
  address: z.string().optional(),
  city: z.string().optional(),
  state: z.string().optional(),
  zip: z.string().optional(),
  lat: z.string().optional(),
  lon: z.string().optional(),
});
export type Location = z.infer<typeof locationSchema>;

/** Free-form district extension fields (Clever `ext`); kept verbatim. */
export const extSchema = z.record(z.string(), z.unknown());

/** The key every stored record carries. */
export const recordKeySchema = z.object({
  district: text,
  source: sourceSchema,
  sourceId: text,
});
export type RecordKey = z.infer<typeof recordKeySchema>;

/** Store-maintained timestamps (ISO-8601 UTC). Not part of the content hash. */
export const timestampsSchema = z.object({
  createdAt: z.string(),
  updatedAt: z.string(),
  archivedAt: z.string().nullable(),
});
export type Timestamps = z.infer<typeof timestampsSchema>;

export const districtSchema = z.object({
  name: z.string(),
  sisType: z.string().optional(),
  state: z.string().optional(),
  error: z.string().optional(),
  lastSync: z.string().optional(),
  launchDate: z.string().optional(),
  pauseStart: z.string().optional(),
  pauseEnd: z.string().optional(),
  portalUrl: z.string().optional(),
  loginMethods: z.array(z.string()).optional(),
  ncesId: z.string().optional(),
  mdrNumber: z.string().optional(),
  lmsType: z.string().optional(),
  lmsState: z.string().optional(),
  lastAttendanceSync: z.string().optional(),
  contact: z
    .object({
      id: z.string().optional(),
      email: z.string().optional(),
      name: personNameSchema.optional(),
      title: z.string().optional(),
    })
    .optional(),
});
export type District = z.infer<typeof districtSchema>;

export const schoolSchema = z.object({
  name: text,
  sisId: z.string().optional(),
  stateId: z.string().optional(),
  schoolNumber: z.string().optional(),
  ncesId: z.string().optional(),
  mdrNumber: z.string().optional(),
  lowGrade: gradeSchema.optional(),
  highGrade: gradeSchema.optional(),
  phone: z.string().optional(),
  principal: z.object({ name: z.string().optional(), email: z.string().optional() }).optional(),
  location: locationSchema.optional(),
  sourceCreated: z.string().optional(),
  sourceModified: z.string().optional(),
  ext: extSchema.optional(),
});
export type School = z.infer<typeof schoolSchema>;

export const termSchema = z.object({
  name: z.string().optional(),
  sisId: z.string().optional(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
});
export type Term = z.infer<typeof termSchema>;

export const courseSchema = z.object({
  name: z.string().optional(),
  number: z.string().optional(),
  sisId: z.string().optional(),
});
export type Course = z.infer<typeof courseSchema>;

export const sectionSchema = z.object({
  schoolId: text,
  name: z.string(),
  sisId: z.string().optional(),
  sectionNumber: z.string().optional(),
  period: z.string().optional(),
  grade: gradeSchema.optional(),
  subject: z.string().optional(),
  courseId: z.string().optional(),
  termId: z.string().optional(),
  /** The primary teacher; also listed in `teacherIds`. */
  teacherId: z.string().optional(),
  teacherIds: z.array(text),
  studentIds: z.array(text),
  lmsSynced: z.boolean().optional(),
  sourceCreated: z.string().optional(),
  sourceModified: z.string().optional(),
  ext: extSchema.optional(),
});
export type Section = z.infer<typeof sectionSchema>;

export const yesNoSchema = z.enum(['Y', 'N']);

/** Sensitive student demographics: optional, present only when the district shares them. */
export const demographicsSchema = z.object({
  gender: z.string().optional(),
  race: z.string().optional(),
  hispanicEthnicity: yesNoSchema.optional(),
  ellStatus: yesNoSchema.optional(),
  frlStatus: z.string().optional(),
  iepStatus: z.string().optional(),
  section504Status: yesNoSchema.optional(),
  giftedStatus: yesNoSchema.optional(),
  homeLanguage: z.string().optional(),
  homeLanguageCode: z.string().optional(),
  disability: z
    .object({
      status: yesNoSchema.optional(),
      type: z.string().optional(),
      code: z.string().optional(),
    })
    .optional(),
});
export type Demographics = z.infer<typeof demographicsSchema>;

export const studentSchema = z.object({
  name: personNameSchema,
  email: z.string().optional(),
  sisId: z.string().optional(),
  stateId: z.string().optional(),
  studentNumber: z.string().optional(),
  /** Primary school. */
  schoolId: text,
  /** Every school the student is enrolled at, primary included. */
  schoolIds: z.array(text),
  grade: gradeSchema.optional(),
  graduationYear: z.string().optional(),
  /** Date of birth as `YYYY-MM-DD`. */
  dob: z.string().optional(),
  username: z.string().optional(),
  demographics: demographicsSchema.optional(),
  enrollments: z
    .array(z.object({ schoolId: text, startDate: z.string().optional(), endDate: z.string().optional() }))
    .optional(),
  location: locationSchema.optional(),
  legacyId: z.string().optional(),
  lmsSynced: z.boolean().optional(),
  sourceCreated: z.string().optional(),
  sourceModified: z.string().optional(),
  ext: extSchema.optional(),
});
export type Student = z.infer<typeof studentSchema>;

export const staffSchema = z.object({
  name: personNameSchema,
  email: z.string().optional(),
  /** One person may hold several staff roles (Clever multi-role users). Sorted, unique, non-empty. */
  roles: z.array(staffRoleSchema).min(1),
  /** A district-defined role name from a CSV (e.g. `counselor`), kept as given. */
  districtRole: z.string().optional(),
  sisId: z.string().optional(),
  stateId: z.string().optional(),
  teacherNumber: z.string().optional(),
  staffId: z.string().optional(),
  title: z.string().optional(),
  department: z.string().optional(),
  schoolIds: z.array(text),
  /** Clever `roles.staff.roles` (free strings). */
  staffRoleNames: z.array(z.string()).optional(),
  /** Access asked for by the source (CSV `access_type`); Clever leaves it to the mapping rules. */
  accessType: accessTypeSchema.optional(),
  /** Grades the access is limited to (CSV `grades`). */
  grades: z.array(gradeSchema).optional(),
  username: z.string().optional(),
  legacyIds: z.record(z.string(), z.string()).optional(),
  sourceCreated: z.string().optional(),
  sourceModified: z.string().optional(),
  ext: extSchema.optional(),
});
export type Staff = z.infer<typeof staffSchema>;

export const contactRelationshipSchema = z.object({
  studentId: text,
  relationship: z.string().optional(),
  type: z.string().optional(),
});
export type ContactRelationship = z.infer<typeof contactRelationshipSchema>;

export const contactSchema = z.object({
  name: personNameSchema,
  email: z.string().optional(),
  phone: z.string().optional(),
  phoneType: z.string().optional(),
  sisId: z.string().optional(),
  relationships: z.array(contactRelationshipSchema),
  legacyId: z.string().optional(),
  sourceCreated: z.string().optional(),
  sourceModified: z.string().optional(),
});
export type Contact = z.infer<typeof contactSchema>;

/** Data shape per entity. */
export interface EntityData {
  schools: School;
  terms: Term;
  courses: Course;
  sections: Section;
  students: Student;
  staff: Staff;
  contacts: Contact;
}

export const entitySchemas: { [E in Entity]: z.ZodType<EntityData[E]> } = {
  schools: schoolSchema,
  terms: termSchema,
  courses: courseSchema,
  sections: sectionSchema,
  students: studentSchema,
  staff: staffSchema,
  contacts: contactSchema,
};

/** A canonical record as a source produces it: key plus data. */
export interface RosterRecord<E extends Entity = Entity> {
  entity: E;
  sourceId: string;
  data: EntityData[E];
}

/** A stored record as the store returns it. */
export interface StoredRecord<E extends Entity = Entity> extends RecordKey, Timestamps {
  entity: E;
  data: EntityData[E];
  hash: string;
  /** The run that last wrote the row (created, changed, archived or restored it). */
  runId: string | null;
}
