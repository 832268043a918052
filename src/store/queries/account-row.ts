import type { Access, AccountKind, IdentityType } from '../../model/account.js';
import { sortIdentities } from '../../model/account.js';
import type { PersonName, SourceKind, StaffRole } from '../../model/entities.js';
import type { AccountHead, StoredAccount } from '../../model/stored-account.js';
import type { DbAccount } from '../schema.js';

/** The columns of an `accounts` row, in the order bulk writes give them. */
export const ACCOUNT_COLUMNS = [
  'id',
  'district_id',
  'kind',
  'status',
  'origin',
  'record_source',
  'record_source_id',
  'name',
  'email',
  'title',
  'roles',
  'access',
  'created_at',
  'updated_at',
  'deactivated_at',
  'state_hash',
  'record_hash',
  'derive_version',
  'synced_hash',
  'identities',
];

/** The columns of an {@link AccountHead}. */
export const HEAD_COLUMNS = [
  'id',
  'district_id',
  'kind',
  'status',
  'origin',
  'record_source',
  'record_source_id',
  'email',
  'access',
  'state_hash',
  'record_hash',
  'derive_version',
  'synced_hash',
] as const;

/**
 * The stored form of an account's login identities (accounts.identities): a JSON array of
 * `type:value` tokens sorted by type, so one identity is one GIN index entry on PostgreSQL. A type
 * never contains `:`, so the first one ends it.
 */
export function identityTokens(identities: ReadonlyArray<{ type: IdentityType; value: string }>): string {
  // The order of sortIdentities: a type never contains `:` (which sorts below every character of
  // one), so comparing tokens compares types first.
  return JSON.stringify(sortIdentities(identities).map((i) => `${i.type}:${i.value}`));
}

export function parseIdentityTokens(json: string): Array<{ type: IdentityType; value: string }> {
  return (JSON.parse(json) as string[]).map((t) => {
    const at = t.indexOf(':');
    return { type: t.slice(0, at) as IdentityType, value: t.slice(at + 1) };
  });
}

/** An `accounts` row as the domain's stored account: its head and the rest. */
export function toStoredAccount(r: DbAccount): StoredAccount {
  return {
    ...toAccountHead(r),
    name: JSON.parse(r.name) as PersonName,
    title: r.title,
    roles: r.roles === '' ? [] : (r.roles.split(',') as StaffRole[]),
    identities: parseIdentityTokens(r.identities),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deactivatedAt: r.deactivated_at,
  };
}

/** The {@link HEAD_COLUMNS} of an `accounts` row as an account head. */
export function toAccountHead(r: Pick<DbAccount, (typeof HEAD_COLUMNS)[number]>): AccountHead {
  return {
    id: r.id,
    district: r.district_id,
    kind: r.kind as AccountKind,
    status: r.status as AccountHead['status'],
    origin: r.origin as AccountHead['origin'],
    recordSource: r.record_source as SourceKind | null,
    recordSourceId: r.record_source_id,
    email: r.email,
    access: r.access ? (JSON.parse(r.access) as Access) : null,
    stateHash: r.state_hash,
    recordHash: r.record_hash,
    deriveVersion: r.derive_version,
    syncedHash: r.synced_hash,
  };
}
