import { z } from 'zod';
import { accessTypeSchema, personNameSchema, sourceSchema, staffRoleSchema } from './entities.js';
import type { PersonName, SourceKind, StaffRole } from './entities.js';
import { contentHash } from './hash.js';

/**
 * Accounts are what people sign in to. Roster records are what the district says; an account is
 * derived from a record by the provisioning rules and then lives on its own: it is deactivated, never
 * deleted, and keeps its id (and history) when its record comes back.
 */

export const ACCOUNT_KINDS = ['student', 'staff', 'guardian'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
export const accountKindSchema = z.enum(ACCOUNT_KINDS);

export const ACCOUNT_STATUSES = ['active', 'inactive'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** `sync`: provisioned from a roster record; `manual`: created by hand, never touched by a sync. */
export const ACCOUNT_ORIGINS = ['sync', 'manual'] as const;
export type AccountOrigin = (typeof ACCOUNT_ORIGINS)[number];

/** Login identity types an account may hold. One value per type per account. */
export const IDENTITY_TYPES = [
  'clever_id',
  'email',
  'sis_id',
  'student_number',
  'state_id',
  'staff_id',
  'teacher_number',
] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];
export const identityTypeSchema = z.enum(IDENTITY_TYPES);

export const accessSchema = z.object({
  type: accessTypeSchema,
  /** Schools the access covers (for `school` access); source ids of school records. */
  schoolIds: z.array(z.string()),
  /** Grades the access is limited to; empty = all grades. */
  grades: z.array(z.string()),
});
export type Access = z.infer<typeof accessSchema>;

export const accountSchema = z.object({
  id: z.string(),
  district: z.string(),
  kind: accountKindSchema,
  status: z.enum(ACCOUNT_STATUSES),
  origin: z.enum(ACCOUNT_ORIGINS),
  /** The roster record the account is provisioned from (null for manual accounts). */
  recordSource: sourceSchema.nullable(),
  recordSourceId: z.string().nullable(),
  name: personNameSchema,
  email: z.string().nullable(),
  title: z.string().nullable(),
  roles: z.array(staffRoleSchema),
  access: accessSchema.nullable(),
  identities: z.array(z.object({ type: identityTypeSchema, value: z.string() })),
  createdAt: z.string(),
  updatedAt: z.string(),
  deactivatedAt: z.string().nullable(),
});
export type Account = z.infer<typeof accountSchema>;

/** `rekeyed`: the account moved to its person's new record; `fields` name the old and the new record. */
export const ACCOUNT_CHANGE_KINDS = [
  'created',
  'updated',
  'deactivated',
  'reactivated',
  'linked',
  'rekeyed',
] as const;
export type AccountChangeKind = (typeof ACCOUNT_CHANGE_KINDS)[number];

/**
 * Normalises an identity value for storage and lookup: trimmed; emails lower-cased. Returns null for
 * empty or whitespace-only values, which are never identities (never matched, never stored).
 */
export function identityValue(type: IdentityType, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  return type === 'email' ? v.toLowerCase() : v;
}

/** One entry of the ordered account change feed. */
export interface AccountChange {
  seq: number;
  district: string;
  accountId: string;
  kind: AccountChangeKind;
  /** Changed field names (for `updated`), or context such as the linked source id. */
  fields: string[];
  runId: string | null;
  at: string;
}

/** The parts of an account a sync owns (everything but its status and timestamps). */
export interface AccountState {
  recordSource: SourceKind | null;
  recordSourceId: string | null;
  name: PersonName;
  email: string | null;
  title: string | null;
  roles: readonly StaffRole[];
  access: Access | null;
  identities: ReadonlyArray<{ type: IdentityType; value: string }>;
}

export function sortIdentities<T extends { type: string; value: string }>(ids: T[]): T[];
export function sortIdentities<T extends { type: string; value: string }>(ids: readonly T[]): readonly T[];
export function sortIdentities<T extends { type: string; value: string }>(ids: readonly T[]): readonly T[] {
  // Most lists arrive sorted (provisioning sorts what it writes): those are returned as they are,
  // since this runs several times for every account a sync writes.
  let sorted = true;
  for (let i = 1; i < ids.length && sorted; i++) sorted = compareIdentities(ids[i - 1]!, ids[i]!) < 0;
  return sorted ? ids : [...ids].sort(compareIdentities);
}

/**
 * `ids` (sorted) with `id` added in its place: a new array, `ids` untouched. Cheaper than adding at
 * the end and sorting, which copies the list (provisioning adds each account's email this way).
 */
export function withIdentity<T extends { type: string; value: string }>(ids: readonly T[], id: T): T[] {
  let at = 0;
  while (at < ids.length && compareIdentities(ids[at]!, id) < 0) at++;
  const out = ids.slice(0, at);
  out.push(id);
  for (let i = at; i < ids.length; i++) out.push(ids[i]!);
  return out;
}

function compareIdentities(a: { type: string; value: string }, b: { type: string; value: string }): number {
  return a.type < b.type ? -1 : a.type > b.type ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/**
 * Hash of an account's state. The store keeps it beside every account it writes, so comparing what
 * the rules want with what is stored costs one hash, and a change made outside a sync shows up as
 * a difference (and is re-mapped unless an override or the access switch says it sticks).
 */
export function accountStateHash(s: AccountState): string {
  // Keys in sorted order (and access built that way in accounts/derive.ts): the hash's fast path.
  return contentHash({
    access: s.access,
    email: s.email,
    identities: sortIdentities(s.identities),
    link: [s.recordSource, s.recordSourceId],
    name: s.name,
    roles: s.roles.length > 1 ? [...s.roles].sort() : s.roles,
    title: s.title,
  });
}
