import { identityValue } from '../model/account.js';
import type { Access, AccountKind, IdentityType } from '../model/account.js';
import type { DistrictConfig } from '../model/district-config.js';
import type {
  ContactAccountFields,
  StaffAccountFields,
  StudentAccountFields,
} from '../model/account-fields.js';
import type { Entity, PersonName, SourceKind, StaffRole } from '../model/entities.js';
import { ACCESS_TYPES, STAFF_ROLES } from '../model/entities.js';
import { gradeSchema } from '../model/entities.js';

/**
 * Provisioning rules as pure functions: what account a roster record should have. Nothing here
 * reads or writes the store.
 */

export interface DesiredAccount {
  kind: AccountKind;
  /** False when a rule says no account (e.g. a grade outside the contracted grades). */
  eligible: boolean;
  /** Why not, when not eligible. */
  ineligibleReason: { field: string; reason: string } | null;
  name: PersonName;
  /** Lower-cased email, or null. Whether it is also a login identity is decided across accounts. */
  email: string | null;
  title: string | null;
  roles: StaffRole[];
  access: Access | null;
  /**
   * Login identities other than email (clever id and district identifiers), normalised, in the
   * order of sortIdentities: provisioning adds the email in its place and sorts nothing.
   */
  identities: Array<{ type: IdentityType; value: string }>;
  /** The district's matching key for this kind and its value in the record, when present. */
  key: { type: IdentityType; value: string } | null;
}

export function accountKindOf(entity: Entity): AccountKind | null {
  if (entity === 'students') return 'student';
  if (entity === 'staff') return 'staff';
  if (entity === 'contacts') return 'guardian';
  return null;
}

/** The identities of `pairs` that have a value; `pairs` come in sorted order (see DesiredAccount). */
function ids(pairs: Array<[IdentityType, string | undefined]>): Array<{ type: IdentityType; value: string }> {
  const out: Array<{ type: IdentityType; value: string }> = [];
  for (const [type, raw] of pairs) {
    const value = identityValue(type, raw);
    if (value !== null) out.push({ type, value });
  }
  return out;
}

/**
 * Staff access, as data: district admins get `district`; teachers and staff with schools get
 * `school` access to those schools; without schools, `caseload`. `allTeachersCaseload` sends every
 * teacher (who is not also a district admin) to `caseload`. An access type the source states
 * explicitly (CSV `access_type`) wins over the mapping; `grades` limits it.
 */
export function staffAccess(staff: StaffAccountFields, config: DistrictConfig): Access {
  const grades = staff.grades ?? [];
  if (staff.accessType) {
    return {
      grades,
      schoolIds: staff.accessType === 'school' ? [...staff.schoolIds] : [],
      type: staff.accessType,
    };
  }
  if (staff.roles.includes('district_admin')) return { grades, schoolIds: [], type: 'district' };
  if (config.access.allTeachersCaseload && staff.roles.includes('teacher'))
    return { grades, schoolIds: [], type: 'caseload' };
  if (staff.schoolIds.length > 0) return { grades, schoolIds: [...staff.schoolIds], type: 'school' };
  return { grades, schoolIds: [], type: 'caseload' };
}

const STUDENT_KEY_FIELD: Record<DistrictConfig['studentKey'], keyof StudentAccountFields> = {
  sis_id: 'sisId',
  student_number: 'studentNumber',
  state_id: 'stateId',
};
const STAFF_KEY_FIELD: Record<DistrictConfig['staffKey'], keyof StaffAccountFields> = {
  staff_id: 'staffId',
  sis_id: 'sisId',
  teacher_number: 'teacherNumber',
};

export function deriveAccount(
  entity: 'students' | 'staff' | 'contacts',
  sourceId: string,
  source: SourceKind,
  /** The record, or only its account fields (see model/account-fields.ts): the same account either way. */
  data: StudentAccountFields | StaffAccountFields | ContactAccountFields,
  config: DistrictConfig,
): DesiredAccount {
  const cleverId = source === 'clever' ? sourceId : undefined;
  if (entity === 'students') {
    const s = data as StudentAccountFields;
    const eligible =
      config.contractedGrades === null ||
      (s.grade !== undefined && config.contractedGrades.includes(s.grade));
    const keyValue = identityValue(
      config.studentKey,
      s[STUDENT_KEY_FIELD[config.studentKey]] as string | undefined,
    );
    return {
      kind: 'student',
      eligible,
      ineligibleReason: eligible
        ? null
        : {
            field: 'grade',
            reason: `grade ${s.grade ?? '(none)'} is outside the district's contracted grades; no account`,
          },
      name: s.name,
      email: identityValue('email', s.email),
      title: null,
      roles: [],
      access: null,
      identities: ids([
        ['clever_id', cleverId],
        ['sis_id', s.sisId],
        ['state_id', s.stateId],
        ['student_number', s.studentNumber],
      ]),
      key: keyValue !== null ? { type: config.studentKey, value: keyValue } : null,
    };
  }
  if (entity === 'staff') {
    const s = data as StaffAccountFields;
    const keyValue = identityValue(
      config.staffKey,
      s[STAFF_KEY_FIELD[config.staffKey]] as string | undefined,
    );
    return {
      kind: 'staff',
      eligible: true,
      ineligibleReason: null,
      name: s.name,
      email: identityValue('email', s.email),
      title: s.title ?? null,
      roles: [...s.roles].sort(),
      access: staffAccess(s, config),
      identities: ids([
        ['clever_id', cleverId],
        ['sis_id', s.sisId],
        ['staff_id', s.staffId],
        ['state_id', s.stateId],
        ['teacher_number', s.teacherNumber],
      ]),
      key: keyValue !== null ? { type: config.staffKey, value: keyValue } : null,
    };
  }
  const c: ContactAccountFields = data;
  const sis = identityValue('sis_id', c.sisId);
  return {
    kind: 'guardian',
    eligible: config.provisionGuardians,
    ineligibleReason: config.provisionGuardians
      ? null
      : { field: 'contact', reason: 'guardian accounts are off for this district' },
    name: c.name,
    email: identityValue('email', c.email),
    title: null,
    roles: [],
    access: null,
    identities: ids([
      ['clever_id', cleverId],
      ['sis_id', c.sisId],
    ]),
    key: sis !== null ? { type: 'sis_id', value: sis } : null,
  };
}

/** Fields an override may set on a staff account. Anything else in an override is ignored. */
export interface StaffOverrideFields {
  title?: string;
  roles?: StaffRole[];
  accessType?: Access['type'];
  schoolIds?: string[];
  grades?: string[];
  email?: string;
}

/** Reads override fields defensively (they come from a CSV or an API call). */
export function parseOverrideFields(raw: Record<string, unknown>): StaffOverrideFields {
  const out: StaffOverrideFields = {};
  if (typeof raw.title === 'string') out.title = raw.title;
  if (typeof raw.email === 'string') out.email = raw.email;
  if (Array.isArray(raw.roles))
    out.roles = raw.roles.filter((r): r is StaffRole => (STAFF_ROLES as readonly unknown[]).includes(r));
  if (typeof raw.accessType === 'string' && (ACCESS_TYPES as readonly string[]).includes(raw.accessType))
    out.accessType = raw.accessType as Access['type'];
  if (Array.isArray(raw.schoolIds))
    out.schoolIds = raw.schoolIds.filter((s): s is string => typeof s === 'string');
  if (Array.isArray(raw.grades))
    out.grades = raw.grades.filter((g): g is string => gradeSchema.safeParse(g).success);
  return out;
}

/** Applies overrides (in order; later wins) to a desired staff account. */
export function applyOverrides(
  desired: DesiredAccount,
  overrides: readonly StaffOverrideFields[],
): DesiredAccount {
  if (overrides.length === 0) return desired;
  const out: DesiredAccount = { ...desired, access: desired.access ? { ...desired.access } : null };
  for (const o of overrides) {
    if (o.title !== undefined) out.title = o.title;
    if (o.email !== undefined) out.email = identityValue('email', o.email);
    if (o.roles !== undefined && o.roles.length > 0) out.roles = [...o.roles].sort();
    if (out.kind === 'staff') {
      const access: Access = out.access ?? { grades: [], schoolIds: [], type: 'caseload' };
      if (o.accessType !== undefined) access.type = o.accessType;
      if (o.schoolIds !== undefined) access.schoolIds = [...o.schoolIds];
      if (o.grades !== undefined) access.grades = [...o.grades];
      if (access.type !== 'school') access.schoolIds = [];
      out.access = access;
    }
  }
  return out;
}
