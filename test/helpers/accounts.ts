import type { AccountWrite } from '../../src/model/stored-account.js';

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
