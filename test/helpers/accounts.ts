import type { AccountWrite, StoredAccount } from '../../src/model/stored-account.js';

/** An account as a sync writes it: a clever-linked active student, unless `fields` say otherwise. */
export function accountWrite(id: string, fields: Partial<AccountWrite> = {}): AccountWrite {
  return {
    id,
    district: 'd1',
    kind: 'student',
    status: 'active',
    origin: 'sync',
    recordSource: 'clever',
    recordSourceId: `rec-${id}`,
    name: { last: 'Test' },
    email: null,
    title: null,
    roles: [],
    access: null,
    identities: [],
    ...fields,
  };
}

/** A stored, active sync account of a student in district `d` (the shape provisioning reads); `fields` override. */
export function storedAccount(id: string, fields: Partial<StoredAccount> = {}): StoredAccount {
  return {
    id,
    district: 'd',
    kind: 'student',
    status: 'active',
    origin: 'sync',
    recordSource: 'clever',
    recordSourceId: `r-${id}`,
    name: {},
    email: null,
    title: null,
    roles: [],
    access: null,
    identities: [],
    createdAt: '',
    updatedAt: '',
    deactivatedAt: null,
    stateHash: null,
    recordHash: null,
    deriveVersion: null,
    syncedHash: null,
    ...fields,
  };
}
