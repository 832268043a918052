import type { Contact, Staff, Student } from './entities.js';

/**
 * The fields of a record that its account is derived from (accounts/derive.ts takes exactly these
 * types, so the compiler rejects a rule that reads any other field). A source that decodes pages
 * ahead (see sources/clever/page-decoder.ts) sends them as a small JSON document beside the
 * record's full JSON: provisioning a first sync's 100,000 students then parses ~150 bytes a record
 * on the main thread instead of ~750. Imports types only: the decoder worker loads this file.
 */
export const ACCOUNT_FIELDS = {
  students: ['email', 'grade', 'name', 'sisId', 'stateId', 'studentNumber'],
  staff: [
    'accessType',
    'email',
    'grades',
    'name',
    'roles',
    'schoolIds',
    'sisId',
    'staffId',
    'stateId',
    'teacherNumber',
    'title',
  ],
  contacts: ['email', 'name', 'sisId'],
} as const satisfies {
  students: ReadonlyArray<keyof Student>;
  staff: ReadonlyArray<keyof Staff>;
  contacts: ReadonlyArray<keyof Contact>;
};

export type StudentAccountFields = Pick<Student, (typeof ACCOUNT_FIELDS.students)[number]>;
export type StaffAccountFields = Pick<Staff, (typeof ACCOUNT_FIELDS.staff)[number]>;
export type ContactAccountFields = Pick<Contact, (typeof ACCOUNT_FIELDS.contacts)[number]>;

/** What an account is derived from, per entity that has accounts. */
export interface AccountFieldsOf {
  students: StudentAccountFields;
  staff: StaffAccountFields;
  contacts: ContactAccountFields;
}

export type AccountEntity = keyof AccountFieldsOf;

/**
 * The account fields of a record as JSON: the record's own values of {@link ACCOUNT_FIELDS}, nothing
 * else (absent ones stay absent), so `JSON.parse` of it derives the same account as the record.
 */
export function accountFieldsJson<E extends AccountEntity>(entity: E, data: AccountFieldsOf[E]): string {
  const out: Record<string, unknown> = {};
  const from = data as unknown as Record<string, unknown>;
  for (const k of ACCOUNT_FIELDS[entity]) out[k] = from[k];
  return JSON.stringify(out);
}
