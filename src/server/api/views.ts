import { z } from 'zod';
import {
  ACCOUNT_CHANGE_KINDS,
  ACCOUNT_KINDS,
  ACCOUNT_ORIGINS,
  ACCOUNT_STATUSES,
  IDENTITY_TYPES,
} from '../../model/account.js';
import type { AccountChange } from '../../model/account.js';
import { districtConfigSchema } from '../../model/district-config.js';
import { ACCESS_TYPES, personNameSchema, SOURCES, STAFF_ROLES } from '../../model/entities.js';
import type { EntityData, StoredRecord } from '../../model/entities.js';
import { RUN_STATUSES } from '../../model/run.js';
import type { RunProblem, SyncRun } from '../../model/run.js';
import type { AccountDetail, AccountSummary } from '../../store/queries/account-search.js';
import type { BrowsedEntity } from '../../store/queries/roster-search.js';

/**
 * What the API answers, as zod schemas (the OpenAPI document is generated from them, and a response
 * is serialised through its schema, so a field that is not listed here is never sent) and the
 * mappers from store shapes. Each view carries what its route is for: lists carry names and
 * identifiers; no view carries a date of birth, demographics, a home address or `ext` fields.
 */

/** Every error: a stable `code` to branch on, a message for people, and details (e.g. the fields). */
export const errorSchema = z
  .object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  })
  .meta({ id: 'Error' });

const personName = personNameSchema;
const source = z.enum(SOURCES);
const str = z.string().optional();

// --- districts ---------------------------------------------------------------------------------

export const districtSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    cleverDistrictId: z.string().nullable(),
    source: z.enum(['clever', 'csv']),
    schedule: z.object({ cron: z.string(), timezone: z.string(), nextRun: z.string().nullable() }),
    attention: z.string().nullable(),
  })
  .meta({ id: 'DistrictSummary' });

const entityTotals = z.object({
  schools: z.number(),
  terms: z.number(),
  courses: z.number(),
  sections: z.number(),
  students: z.number(),
  staff: z.number(),
  staffByRole: z.record(z.string(), z.number()),
  contacts: z.number(),
  enrollments: z.object({ students: z.number(), teachers: z.number() }),
});
const accountTotals = z.object({ active: z.number(), inactive: z.number() });

export const districtDetailSchema = districtSummarySchema
  .extend({
    settings: districtConfigSchema,
    hasToken: z.boolean(),
    totals: entityTotals,
    accounts: z.object({ student: accountTotals, staff: accountTotals, guardian: accountTotals }),
  })
  .meta({ id: 'District' });

// --- runs --------------------------------------------------------------------------------------

const countsRecord = z.record(z.string(), z.unknown());
export const runSchema = z
  .object({
    id: z.string(),
    district: z.string(),
    source: z.string(),
    mode: z.string(),
    status: z.enum(RUN_STATUSES),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    heartbeatAt: z.string(),
    reason: z.string().nullable(),
    counts: z.object({ entities: countsRecord, accounts: countsRecord }),
    stats: countsRecord,
    problemCount: z.number(),
    resolution: z.enum(['approved', 'rejected']).nullable(),
    resolvedAt: z.string().nullable(),
  })
  .meta({ id: 'Run' });

export const problemSchema = z
  .object({
    severity: z.enum(['error', 'warning']),
    entity: z.string(),
    recordId: z.string().nullable(),
    field: z.string().nullable(),
    reason: z.string(),
  })
  .meta({ id: 'RunProblem' });

export function runView(r: SyncRun): z.output<typeof runSchema> {
  return {
    ...r,
    counts: r.counts as unknown as z.output<typeof runSchema>['counts'],
    stats: r.stats as unknown as Record<string, unknown>,
  };
}

export function problemView(p: RunProblem): z.output<typeof problemSchema> {
  return p;
}

// --- roster records ----------------------------------------------------------------------------

const recordBase = {
  id: z.string(),
  source,
  updatedAt: z.string(),
};

const schoolSchema = z
  .object({
    ...recordBase,
    name: z.string(),
    sisId: str,
    stateId: str,
    schoolNumber: str,
    ncesId: str,
    lowGrade: str,
    highGrade: str,
    phone: str,
  })
  .meta({ id: 'School' });

const studentSchema = z
  .object({
    ...recordBase,
    name: personName,
    email: str,
    grade: str,
    graduationYear: str,
    schoolId: z.string(),
    schoolIds: z.array(z.string()),
    sisId: str,
    stateId: str,
    studentNumber: str,
    username: str,
  })
  .meta({ id: 'Student' });

const staffSchema = z
  .object({
    ...recordBase,
    name: personName,
    email: str,
    title: str,
    roles: z.array(z.enum(STAFF_ROLES)),
    districtRole: str,
    department: str,
    schoolIds: z.array(z.string()),
    sisId: str,
    stateId: str,
    staffId: str,
    teacherNumber: str,
    username: str,
  })
  .meta({ id: 'Staff' });

const contactSchema = z
  .object({
    ...recordBase,
    name: personName,
    email: str,
    phone: str,
    phoneType: str,
    sisId: str,
    relationships: z.array(z.object({ studentId: z.string(), relationship: str, type: str })),
  })
  .meta({ id: 'Contact' });

const sectionSummary = {
  ...recordBase,
  name: z.string(),
  schoolId: z.string(),
  sisId: str,
  sectionNumber: str,
  period: str,
  grade: str,
  subject: str,
  courseId: str,
  termId: str,
  teacherId: str,
  teacherIds: z.array(z.string()),
  studentCount: z.number(),
};
const sectionSchema = z.object(sectionSummary).meta({ id: 'Section' });
const sectionDetailSchema = z
  .object({ ...sectionSummary, studentIds: z.array(z.string()) })
  .meta({ id: 'SectionDetail' });

/** The view of each entity in a list, and of one record shown alone. */
export const RECORD_VIEWS = {
  schools: { item: schoolSchema, detail: schoolSchema },
  students: { item: studentSchema, detail: studentSchema },
  staff: { item: staffSchema, detail: staffSchema },
  contacts: { item: contactSchema, detail: contactSchema },
  sections: { item: sectionSchema, detail: sectionDetailSchema },
} as const;

/**
 * A stored record as its view: the record's fields, which the view's schema then cuts down to the
 * listed ones when the response is serialised.
 */
export function recordView<E extends BrowsedEntity>(r: StoredRecord<E>): Record<string, unknown> {
  const base = { id: r.sourceId, source: r.source, updatedAt: r.updatedAt };
  if (r.entity === 'sections') {
    const d = r.data as EntityData['sections'];
    return { ...d, ...base, studentCount: d.studentIds.length };
  }
  return { ...(r.data as object), ...base };
}

export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      next: z.string().nullable().describe('pass as `after` for the next page; null on the last page'),
    })
    .meta({ id });
}

// --- accounts ----------------------------------------------------------------------------------

const identity = z.object({ type: z.enum(IDENTITY_TYPES), value: z.string() });

export const accountSummarySchema = z
  .object({
    id: z.string(),
    district: z.string(),
    kind: z.enum(ACCOUNT_KINDS),
    status: z.enum(ACCOUNT_STATUSES),
    origin: z.enum(ACCOUNT_ORIGINS),
    name: personName,
    email: z.string().nullable(),
    roles: z.array(z.enum(STAFF_ROLES)),
    recordSource: source.nullable(),
    recordSourceId: z.string().nullable(),
    updatedAt: z.string(),
    deactivatedAt: z.string().nullable(),
  })
  .meta({ id: 'AccountSummary' });

export const changeSchema = z
  .object({
    seq: z.number(),
    district: z.string(),
    accountId: z.string(),
    kind: z.enum(ACCOUNT_CHANGE_KINDS),
    fields: z.array(z.string()),
    runId: z.string().nullable(),
    at: z.string(),
  })
  .meta({ id: 'AccountChange' });

export const accountDetailSchema = z
  .object({
    account: accountSummarySchema.extend({
      title: z.string().nullable(),
      access: z
        .object({
          type: z.enum(ACCESS_TYPES),
          schoolIds: z.array(z.string()),
          grades: z.array(z.string()),
        })
        .nullable(),
      identities: z.array(identity),
      createdAt: z.string(),
    }),
    overrides: z.array(
      z.object({
        keyType: z.string(),
        keyValue: z.string(),
        fields: z.record(z.string(), z.unknown()),
        origin: z.enum(['manual', 'csv']),
        updatedAt: z.string(),
      }),
    ),
    history: z.array(changeSchema),
    historyBefore: z.number().nullable().describe('pass as `before` to the history route for older changes'),
  })
  .meta({ id: 'AccountDetail' });

export function accountSummaryView(a: AccountSummary): z.output<typeof accountSummarySchema> {
  return a;
}

export function accountDetailView(d: AccountDetail): z.output<typeof accountDetailSchema> {
  return {
    account: d.account,
    overrides: d.overrides,
    history: d.history,
    historyBefore: d.historyBefore,
  };
}

export function changeView(c: AccountChange): z.output<typeof changeSchema> {
  return c;
}
