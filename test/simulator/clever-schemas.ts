// Zod models of Clever's v3.0 / v3.1 records, written for these tests from the definitions in
// Clever's Swagger files (types, nullability, validated enums with their documented "" values).
// Unknown keys are allowed (Clever passes SIS extras through); guaranteed fields are required.
import { z } from 'zod';

export const id24 = z.string().regex(/^[0-9a-f]{24}$/);
export const datetime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const dateOrDatetime = z.union([date, datetime]);
const ns = z.string().nullable();

const GRADES = [
  'InfantToddler',
  'Preschool',
  'PreKindergarten',
  'TransitionalKindergarten',
  'Kindergarten',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '10',
  '11',
  '12',
  '13',
  'PostGraduate',
  'Ungraded',
  'Other',
  '',
] as const;
export const grade = z.enum(GRADES).nullable();
const yn = z.enum(['Y', 'N', '']).nullable();

export const nameSchema = z.object({ first: ns.optional(), middle: ns.optional(), last: ns.optional() });
const location = z
  .object({
    address: ns.optional(),
    city: ns.optional(),
    state: ns.optional(),
    zip: ns.optional(),
    lat: ns.optional(),
    lon: ns.optional(),
  })
  .nullable();
const credentials = z.object({ district_username: z.string().optional() });
const ext = z.record(z.string(), z.unknown());

export const linkSchema = z.object({
  rel: z.enum(['next', 'prev', 'self']),
  uri: z.string().startsWith('/'),
});

// ---------------------------------------------------------------------------------- district

const districtBase = {
  id: id24,
  name: z.string(),
  sis_type: z.string().optional(),
  launch_date: date.optional(),
  portal_url: z.string().optional(),
  login_methods: z.array(z.string()).optional(),
  last_sync: datetime.nullable().optional(),
  state: z.enum(['running', 'pending', 'error', 'paused', '', 'success']).nullable().optional(),
  error: z.string().optional(),
  pause_start: datetime.nullable().optional(),
  pause_end: datetime.nullable().optional(),
  mdr_number: ns.optional(),
  nces_id: ns.optional(),
  district_contact: z
    .object({
      id: id24,
      district: id24,
      email: ns.optional(),
      name: nameSchema.optional(),
      title: z.string().optional(),
    })
    .optional(),
};
export const districtV30 = z.object(districtBase);
export const districtV31 = z.object({
  ...districtBase,
  lms_type: z.enum(['canvas', 'schoology', 'google_classroom', '']).nullable().optional(),
  lms_state: z
    .enum([
      'initial_sync_processing',
      'pending_authorization',
      'matching_in_progress',
      'error',
      'disconnected',
      '',
      'success',
    ])
    .nullable()
    .optional(),
  last_attendance_sync: datetime.nullable().optional(),
});

// ---------------------------------------------------------------------------------- school

export const schoolSchema = z.object({
  id: id24,
  district: id24,
  name: z.string(),
  created: datetime,
  last_modified: datetime,
  sis_id: z.string(),
  school_number: z.string(),
  state_id: ns.optional(),
  nces_id: ns.optional(),
  mdr_number: ns.optional(),
  phone: ns.optional(),
  low_grade: grade.optional(),
  high_grade: grade.optional(),
  principal: z.object({ name: ns.optional(), email: ns.optional() }).optional(),
  location: location.optional(),
  ext: ext.optional(),
});

// ---------------------------------------------------------------------------------- terms, courses

export const termSchema = z.object({
  id: id24,
  district: id24,
  name: ns.optional(),
  start_date: dateOrDatetime.nullable().optional(),
  end_date: dateOrDatetime.nullable().optional(),
});

export const courseSchema = z.object({
  id: id24,
  district: id24,
  name: ns.optional(),
  number: ns.optional(),
});

// ---------------------------------------------------------------------------------- section

const SUBJECTS = [
  'english/language arts',
  'math',
  'science',
  'social studies',
  'language',
  'homeroom/advisory',
  'interventions/online learning',
  'technology and engineering',
  'PE and health',
  'arts and music',
  'other',
  '',
] as const;
const lmsStatus = z.object({ synced_in_lms: z.boolean() }).nullable();

const sectionBase = {
  id: id24,
  district: id24,
  school: id24,
  name: z.string(),
  sis_id: z.string().optional(),
  section_number: ns.optional(),
  period: ns.optional(),
  grade: grade.optional(),
  subject: z.enum(SUBJECTS).nullable().optional(),
  course: id24.nullable().optional(),
  term_id: id24.nullable().optional(),
  teacher: id24.nullable().optional(),
  teachers: z.array(id24),
  students: z.array(id24),
  created: datetime,
  last_modified: datetime,
  ext: ext.optional(),
};
export const sectionV30 = z.object(sectionBase);
export const sectionV31 = z.object({ ...sectionBase, lms_status: lmsStatus.optional() });

// ---------------------------------------------------------------------------------- user roles

const studentRelationship = z.object({
  student: id24,
  relationship: z
    .enum(['Parent', 'Grandparent', 'Self', 'Aunt/Uncle', 'Sibling', 'Other', ''])
    .nullable()
    .optional(),
  type: z
    .enum(['Parent/Guardian', 'Emergency', 'Primary', 'Secondary', 'Family', 'Other', ''])
    .nullable()
    .optional(),
});

export const contactRole = z.object({
  sis_id: ns.optional(),
  phone: ns.optional(),
  phone_type: z.enum(['Cell', 'Home', 'Work', 'Other', '']).nullable().optional(),
  legacy_id: z.string().optional(),
  student_relationships: z.array(studentRelationship),
});

export const districtAdminRole = z.object({ title: ns.optional(), legacy_id: z.string().optional() });

export const staffRole = z.object({
  staff_id: z.string().optional(),
  title: ns.optional(),
  department: ns.optional(),
  roles: z.array(z.string()).optional(),
  schools: z.array(id24),
  credentials: credentials.optional(),
  legacy_id: z.string().optional(),
  ext: ext.optional(),
});

export const teacherRole = z.object({
  sis_id: z.string().optional(),
  state_id: ns.optional(),
  teacher_number: ns.optional(),
  title: ns.optional(),
  school: id24,
  schools: z.array(id24),
  credentials: credentials.nullable().optional(),
  legacy_id: z.string().optional(),
  ext: ext.optional(),
});

const studentBase = {
  created: datetime.optional(),
  last_modified: datetime.optional(),
  sis_id: z.string(),
  state_id: ns.optional(),
  student_number: ns.optional(),
  school: id24,
  schools: z.array(id24),
  grade: grade.optional(),
  graduation_year: ns.optional(),
  // Clever: dob is M/D/YYYY without zero padding.
  dob: z
    .string()
    .regex(/^(?:[1-9]|1[0-2])\/(?:[1-9]|[12][0-9]|3[01])\/[0-9]{4}$/)
    .nullable()
    .optional(),
  gender: z.enum(['M', 'F', 'X', '']).nullable().optional(),
  race: z
    .enum([
      'Caucasian',
      'Asian',
      'Black or African American',
      'American Indian',
      'Hawaiian or Other Pacific Islander',
      'Two or More Races',
      'Unknown',
      '',
    ])
    .nullable()
    .optional(),
  hispanic_ethnicity: yn.optional(),
  ell_status: yn.optional(),
  enrollments: z
    .array(
      z.object({ school: id24, start_date: dateOrDatetime.optional(), end_date: dateOrDatetime.optional() }),
    )
    .optional(),
  location: location.optional(),
  credentials: credentials.optional(),
  legacy_id: z.string().optional(),
  ext: ext.optional(),
};

/** The v3.1 additions to roles.student. */
export const V31_STUDENT_FIELDS = [
  'frl_status',
  'iep_status',
  'gifted_status',
  'section_504_status',
  'disability',
  'home_language',
  'home_language_code',
  'preferred_name',
] as const;

// A subset of the spec's 152 home languages: the ones the simulator emits (each checked against v3.1.yml).
const HOME_LANGUAGE_SUBSET = [
  'English', 'Spanish', 'Vietnamese', 'Chinese', 'Mandarin', 'Cantonese', 'Arabic', 'Tagalog', 'Korean',
  'Russian', 'Somali', 'Hmong', 'Haitian Creole', 'Portuguese', 'French', 'Farsi', 'Urdu', 'Hindi', 'Japanese',
  'Ukrainian', 'Polish', 'Amharic', 'Karen', 'Marshallese', 'Punjabi', 'Bengali',
] as const; // prettier-ignore

export const studentRoleV30 = z.object(studentBase);
export const studentRoleV31 = z.object({
  ...studentBase,
  frl_status: z.enum(['Free', 'Reduced', 'Paid', 'Other', '']).nullable().optional(),
  iep_status: ns.optional(),
  gifted_status: yn.optional(),
  section_504_status: yn.optional(),
  disability: z
    .object({
      disability_status: yn.optional(),
      disability_type: z
        .enum([
          'Autism',
          'Deaf-blindness',
          'Developmental delay',
          'Emotional disturbance',
          'Hearing impairment',
          'Intellectual Disability',
          'Multiple disabilities',
          'Orthopedic impairment',
          'Other',
          'Other health impairment',
          'Specific learning disability',
          'Speech or language impairment',
          'Traumatic brain injury',
          'Visual impairment',
        ])
        .nullable()
        .optional(),
      disability_code: z
        .enum(['aut', 'db', 'dd', 'emn', 'hi', 'id', 'md', 'oi', 'other', 'ohi', 'sld', 'sli', 'tbi', 'vi'])
        .nullable()
        .optional(),
    })
    .optional(),
  home_language: z.enum(HOME_LANGUAGE_SUBSET).nullable().optional(),
  home_language_code: z
    .string()
    .regex(/^[a-z]{3}$/)
    .nullable()
    .optional(),
  preferred_name: nameSchema.optional(),
});

function rolesOf<S extends z.ZodType>(student: S) {
  return z
    .object({
      student: student.nullable().optional(),
      teacher: teacherRole.nullable().optional(),
      staff: staffRole.nullable().optional(),
      district_admin: districtAdminRole.nullable().optional(),
      contact: contactRole.nullable().optional(),
    })
    .refine((r) => Object.keys(r).length > 0, 'a user holds at least one role');
}

const userBase = {
  id: id24,
  district: id24,
  email: ns.optional(),
  name: nameSchema,
  created: datetime,
  last_modified: datetime,
};

export const userV30 = z.object({ ...userBase, roles: rolesOf(studentRoleV30) });
export const userV31 = z.object({
  ...userBase,
  roles: rolesOf(studentRoleV31),
  lms_status: lmsStatus.optional(),
});

// ---------------------------------------------------------------------------------- envelopes

export function listOf(item: z.ZodType) {
  return z.object({
    data: z.array(z.object({ data: item, uri: z.string().startsWith('/v3.') })),
    links: z.array(linkSchema),
  });
}

export function singleOf(item: z.ZodType) {
  return z.object({ data: item, links: z.array(linkSchema) });
}

export const countSchema = z.object({ count: z.number().int().min(0), links: z.array(linkSchema) });
export const errorSchema = z.object({ message: z.string() });

export function eventSchema(v31: boolean) {
  const objects: Record<string, z.ZodType> = {
    users: v31 ? userV31 : userV30,
    sections: v31 ? sectionV31 : sectionV30,
    schools: schoolSchema,
    terms: termSchema,
    courses: courseSchema,
    districts: v31 ? districtV31 : districtV30,
  };
  return z
    .object({
      id: id24,
      type: z
        .string()
        .regex(/^(districts|schools|users|sections|terms|courses|resources)\.(created|updated|deleted)$/),
      created: datetime,
      data: z.object({
        object: z.record(z.string(), z.unknown()),
        previous_attributes: z.record(z.string(), z.unknown()).optional(),
      }),
    })
    .superRefine((ev, ctx) => {
      const [coll, action] = ev.type.split('.') as [string, string];
      const r = (objects[coll] as z.ZodType).safeParse(ev.data.object);
      if (!r.success) ctx.addIssue({ code: 'custom', message: `object: ${r.error.message}` });
      if ((action === 'updated') !== (ev.data.previous_attributes !== undefined))
        ctx.addIssue({ code: 'custom', message: 'previous_attributes only (and always) on updated events' });
    });
}
