import { z } from 'zod';
import { GRADES } from './grade.js';

/**
 * Per-district settings, stored with the district (and editable with `rostersync districts configure`).
 * Every field has a default, so `{}` is a valid configuration.
 */
export const schoolFilterSchema = z
  .object({
    /** `include`: only matching schools sync; `exclude`: matching schools are left out. */
    mode: z.enum(['include', 'exclude']),
    /** Source (Clever) ids. */
    ids: z.array(z.string()).default([]),
    sisIds: z.array(z.string()).default([]),
    schoolNumbers: z.array(z.string()).default([]),
    /** Case-insensitive name patterns; `*` matches any run of characters (e.g. `*Virtual*`). */
    namePatterns: z.array(z.string()).default([]),
  })
  .strict();
export type SchoolFilter = z.infer<typeof schoolFilterSchema>;

export const STUDENT_KEYS = ['sis_id', 'student_number', 'state_id'] as const;
export type StudentKey = (typeof STUDENT_KEYS)[number];
export const STAFF_KEYS = ['staff_id', 'sis_id', 'teacher_number'] as const;
export type StaffKey = (typeof STAFF_KEYS)[number];

export const districtConfigSchema = z
  .object({
    schoolFilter: schoolFilterSchema.nullable().default(null),
    /** The ONE student identifier used to match students across sources. Default `sis_id`. */
    studentKey: z.enum(STUDENT_KEYS).default('sis_id'),
    /** The ONE staff identifier used to match staff across sources. Default `sis_id`. */
    staffKey: z.enum(STAFF_KEYS).default('sis_id'),
    /** After the key, match by (unshared) email before creating an account. Default true. */
    matchByEmail: z.boolean().default(true),
    /** Grades whose students get accounts; null = every grade. Default null. */
    contractedGrades: z.array(z.enum(GRADES)).nullable().default(null),
    /** Give contacts guardian accounts. Default false. */
    provisionGuardians: z.boolean().default(false),
    access: z
      .object({
        /** Every teacher gets `caseload` access, whatever their schools. Default false. */
        allTeachersCaseload: z.boolean().default(false),
        /** On: every sync re-applies the access mapping. Off: set at creation, local edits stick. Default true. */
        sourceControlsAccess: z.boolean().default(true),
      })
      .strict()
      .default({ allTeachersCaseload: false, sourceControlsAccess: true }),
    safetyValve: z
      .object({
        /** Hold when deactivations of a kind exceed this percentage of its active accounts… Default 5. */
        maxPercent: z.number().min(0).max(100).default(5),
        /** …and exceed this many accounts. Default 10. */
        minCount: z.number().int().min(0).default(10),
        /**
         * Also hold a run whose re-keys (people back under a new source id, see accounts/rekey.ts)
         * exceed the same threshold. Re-keys deactivate no one, so they are counted apart from
         * deactivations and never hold a run unless this is on. Default false (left out, so that
         * a district's settings, and with them its accounts' derive version, read as before).
         */
        holdRekeys: z.boolean().optional(),
      })
      .strict()
      .default({ maxPercent: 5, minCount: 10 }),
    csv: z
      .object({
        /** Reject a whole file when more than this share of its rows is invalid. Default 0.02 (2%). */
        maxInvalidShare: z.number().min(0).max(1).default(0.02),
        /** Role for a blank `role` in school_staff.csv. Default `teacher`. */
        defaultStaffRole: z.string().default('teacher'),
        /** District-defined CSV roles and the staff role each maps to (e.g. counselor → staff). */
        customRoles: z.record(z.string(), z.enum(['teacher', 'staff', 'district_admin'])).default({}),
        /**
         * The district has moved to Clever: each successful Clever sync retires the CSV records it did
         * not take over (through the safety valve), and CSV drops are refused. Turn off for a district
         * that rosters some people by CSV and the rest by Clever. Default true.
         */
        retireWhenOnClever: z.boolean().default(true),
      })
      .strict()
      .default({
        maxInvalidShare: 0.02,
        defaultStaffRole: 'teacher',
        customRoles: {},
        retireWhenOnClever: true,
      }),
  })
  .strict();

export type DistrictConfig = z.infer<typeof districtConfigSchema>;
export type DistrictConfigInput = z.input<typeof districtConfigSchema>;

export function defaultDistrictConfig(): DistrictConfig {
  return districtConfigSchema.parse({});
}
