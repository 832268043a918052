import { describe, expect, it } from 'vitest';
import { identityLookups, matchIdentities } from '../../src/accounts/match-identities.js';
import { storedAccount } from '../helpers/accounts.js';
import type { IdentityCandidates } from '../../src/accounts/match-identities.js';
import { completePlan, deriveDesired, planAccounts } from '../../src/accounts/plan-accounts.js';
import type { AccountPlan } from '../../src/accounts/plan-accounts.js';
import type { ProvisionBatch } from '../../src/accounts/provision-batch.js';
import { accountStateHash, withIdentity } from '../../src/model/account.js';
import type { IdentityType } from '../../src/model/account.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { Student } from '../../src/model/entities.js';
import { createUuidv7 } from '../../src/model/ids.js';
import type { AccountHead, StoredAccount } from '../../src/model/stored-account.js';

const student = (fields: Partial<Student>): Student => ({
  name: { first: 'A', last: 'B' },
  schoolId: 's1',
  schoolIds: ['s1'],
  grade: '05',
  ...fields,
});

const batch = (
  records: ProvisionBatch['records'],
  config = districtConfigSchema.parse({}),
): ProvisionBatch => ({
  runId: 'run1',
  district: 'd',
  source: 'clever',
  entity: 'students',
  config,
  deriveVersion: 'v1',
  records,
});

/** Derives, matches and plans a batch of students against what the store is said to hold. */
function plan(
  b: ProvisionBatch,
  linked: Map<string, AccountHead> = new Map(),
  candidates: Partial<IdentityCandidates> = {},
): AccountPlan {
  const records = b.records;
  const desired = deriveDesired(b, 'student', records, linked, new Map());
  const { unlinked } = identityLookups(records, desired, linked);
  const full: IdentityCandidates = {
    byKey: new Map(),
    byEmail: new Map(),
    activeElsewhere: new Set(),
    emailHolders: new Map(),
    ...candidates,
  };
  const matches = matchIdentities({
    district: b.district,
    kind: 'student',
    source: b.source,
    matchByEmail: b.config.matchByEmail,
    records,
    desired,
    linked,
    unlinked,
    candidates: full,
  });
  return planAccounts({
    b,
    kind: 'student',
    records,
    desired,
    linked,
    matches,
    heldInStore: full.emailHolders,
    newId: createUuidv7(),
  });
}

const stored = (id: string, fields: Partial<StoredAccount> = {}): StoredAccount =>
  storedAccount(id, { name: { first: 'A', last: 'B' }, ...fields });

describe('planning a batch’s accounts', () => {
  it('creates an account for a new eligible record, its email a login identity', () => {
    const p = plan(batch([{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'A@d.org' }), hash: 'h1' }]));
    expect(p.counts.provisioned).toBe(1);
    const [id, { write, isNew }] = [...p.writes][0]!;
    expect(isNew).toBe(true);
    expect(write).toMatchObject({
      id,
      status: 'active',
      origin: 'sync',
      recordSourceId: 'r1',
      email: 'a@d.org',
      identities: [
        { type: 'clever_id', value: 'r1' },
        { type: 'email', value: 'a@d.org' },
        { type: 'sis_id', value: 'S1' },
      ],
      derived: { recordHash: 'h1', version: 'v1' },
    });
    expect(p.changes).toEqual([{ district: 'd', accountId: id, kind: 'created', fields: [], runId: 'run1' }]);
  });

  it('writes nothing for a linked account whose state and bookkeeping are unchanged', () => {
    const b = batch([{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'x@d.org' }), hash: 'h1' }]);
    const desired = deriveDesired(b, 'student', b.records, new Map(), new Map()).get('r1')!;
    const state = {
      name: desired.name,
      email: 'x@d.org',
      title: null,
      roles: [],
      access: null,
      identities: withIdentity<{ type: IdentityType; value: string }>(desired.identities, {
        type: 'email',
        value: 'x@d.org',
      }),
      recordSource: 'clever' as const,
      recordSourceId: 'r1',
    };
    const head = (fields: Partial<AccountHead>): AccountHead => ({
      id: 'a1',
      district: 'd',
      kind: 'student',
      status: 'active',
      origin: 'sync',
      recordSource: 'clever',
      recordSourceId: 'r1',
      email: 'x@d.org',
      access: null,
      stateHash: accountStateHash(state),
      recordHash: 'h1',
      deriveVersion: 'v1',
      syncedHash: accountStateHash(state),
      ...fields,
    });
    const quiet = plan(b, new Map([['r1', head({})]]), {
      emailHolders: new Map([['x@d.org', [head({})]]]),
    });
    expect(quiet.writes.size).toBe(0);
    expect(quiet.toDiff).toEqual([]);
    expect(quiet.sharedHolders).toEqual([]); // the only holder of its email: not shared
    // Under other rules, it is written again and diffed against its stored state.
    const redo = plan(b, new Map([['r1', head({ deriveVersion: 'v0' })]]));
    expect([...redo.writes.keys()]).toEqual(['a1']);
    expect(redo.toDiff).toMatchObject([{ accountId: 'a1', reactivated: false }]);
    // A deactivated one is reactivated.
    expect(plan(b, new Map([['r1', head({ status: 'inactive' })]])).toDiff).toMatchObject([
      { accountId: 'a1', reactivated: true },
    ]);
  });

  it('queues a linked account whose record is no longer eligible for deactivation', () => {
    const config = districtConfigSchema.parse({ contractedGrades: ['09'] });
    const b = batch([{ sourceId: 'r1', data: student({ grade: '05' }) }], config);
    const linked = new Map([['r1', stored('a1', { recordSourceId: 'r1' })]]);
    const p = plan(b, linked);
    expect(p.pendingDeactivations).toEqual([
      { accountId: 'a1', kind: 'student', reason: expect.stringContaining('grade 05') },
    ]);
    expect(p.counts.notProvisioned).toBe(1);
    expect(p.writes.size).toBe(0);
  });

  it('reports a conflict and writes nothing for it', () => {
    const b = batch([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }]);
    const p = plan(b, new Map(), { byKey: new Map([['S1', [stored('a1'), stored('a2')]]]) });
    expect(p.counts.conflicts).toBe(1);
    expect(p.problems).toMatchObject([{ severity: 'error', recordId: 'r1', field: 'sis_id' }]);
    expect(p.writes.size).toBe(0);
  });

  it('links a matched account, archives the record it leaves, and feeds both changes', () => {
    const csv = stored('a1', { recordSource: 'csv', recordSourceId: 'x1', status: 'inactive' });
    const p = plan(batch([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }]), new Map(), {
      byKey: new Map([['S1', [csv]]]),
    });
    expect(p.superseded).toEqual([{ source: 'csv', id: 'x1' }]);
    expect(p.changes.map((c) => c.kind)).toEqual(['linked', 'reactivated']);
    expect(p.writes.get('a1')!.write.recordSourceId).toBe('r1');
  });

  it('keeps a shared email out of the identities, warns, and takes it from the other holder', () => {
    const other = stored('a9', { email: 'x@d.org', identities: [{ type: 'email', value: 'x@d.org' }] });
    const p = plan(batch([{ sourceId: 'r1', data: student({ email: 'x@d.org' }) }]), new Map(), {
      emailHolders: new Map([['x@d.org', [other]]]),
    });
    const write = [...p.writes.values()][0]!.write;
    expect(write.email).toBe('x@d.org');
    expect(write.identities.some((i) => i.type === 'email')).toBe(false);
    expect(p.problems).toMatchObject([{ severity: 'warning', recordId: 'r1', field: 'email' }]);
    expect(p.sharedHolders).toEqual(['a9']);
    // With its stored state, the other holder loses the email as an identity.
    const released = completePlan(batch([]), p, new Map([['a9', other]]));
    expect(released).toEqual([]);
    expect(p.writes.get('a9')!.write.identities).toEqual([]);
    expect(p.changes[p.changes.length - 1]).toMatchObject({
      accountId: 'a9',
      kind: 'updated',
      fields: ['identities'],
    });
  });
});
