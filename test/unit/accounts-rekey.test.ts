import { describe, expect, it } from 'vitest';
import { identityLookups, matchIdentities } from '../../src/accounts/match-identities.js';
import type { IdentityCandidates, IdentityMatches } from '../../src/accounts/match-identities.js';
import { deriveDesired, planAccounts } from '../../src/accounts/plan-accounts.js';
import type { AccountPlan } from '../../src/accounts/plan-accounts.js';
import type { ProvisionBatch } from '../../src/accounts/provision-batch.js';
import { decideRekeys } from '../../src/accounts/rekey.js';
import type { WaitingClaim } from '../../src/accounts/rekey.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { DistrictConfig } from '../../src/model/district-config.js';
import type { Student } from '../../src/model/entities.js';
import { createUuidv7 } from '../../src/model/ids.js';
import type { StoredAccount } from '../../src/model/stored-account.js';
import { evaluateSafetyValve } from '../../src/sync/safety-valve.js';
import { storedAccount } from '../helpers/accounts.js';

const config = districtConfigSchema.parse({});

const student = (fields: Partial<Student>): Student => ({
  name: { first: 'A', last: 'B' },
  schoolId: 's1',
  schoolIds: ['s1'],
  grade: '05',
  ...fields,
});

/** An active clever student account linked to record `old`, holding its Clever id, key and email. */
const oldAccount = (
  id: string,
  old: string,
  sis: string,
  fields: Partial<StoredAccount> = {},
): StoredAccount =>
  storedAccount(id, {
    recordSource: 'clever',
    recordSourceId: old,
    name: { first: 'A', last: 'B' },
    identities: [
      { type: 'clever_id', value: old },
      { type: 'sis_id', value: sis },
    ],
    ...fields,
  });

interface Candidates {
  byKey?: Record<string, StoredAccount[]>;
  byEmail?: Record<string, StoredAccount[]>;
}

interface Options {
  deferClaims?: boolean;
  rekeys?: Record<string, string>;
  config?: DistrictConfig;
}

function matchAndPlan(
  records: Array<{ sourceId: string; data: Student }>,
  store: Candidates,
  opts: Options = {},
): { matches: IdentityMatches; plan: AccountPlan } {
  const cfg = opts.config ?? config;
  const b: ProvisionBatch = {
    runId: 'run1',
    district: 'd',
    source: 'clever',
    entity: 'students',
    config: cfg,
    deriveVersion: 'v1',
    records,
  };
  const linked = new Map();
  const desired = deriveDesired(b, 'student', records, linked, new Map());
  const { unlinked } = identityLookups(records, desired, linked);
  const candidates: IdentityCandidates = {
    byKey: new Map(Object.entries(store.byKey ?? {})),
    byEmail: new Map(Object.entries(store.byEmail ?? {})),
    activeElsewhere: new Set(),
    emailHolders: new Map(),
  };
  const matches = matchIdentities({
    district: 'd',
    kind: 'student',
    source: 'clever',
    matchByEmail: cfg.matchByEmail,
    records,
    desired,
    linked,
    unlinked,
    candidates,
    ...(opts.deferClaims ? { deferClaims: true } : {}),
    ...(opts.rekeys ? { rekeys: new Map(Object.entries(opts.rekeys)) } : {}),
  });
  const plan = planAccounts({
    b,
    kind: 'student',
    records,
    desired,
    linked,
    matches,
    heldInStore: new Map(),
    newId: createUuidv7(),
  });
  return { matches, plan };
}

const claim = (newId: string, oldId: string, accountId: string): WaitingClaim => ({
  newId,
  oldId,
  accountId,
  accountKind: 'student',
});

describe('re-keys: deciding waiting claims', () => {
  it('is a re-key when the old record is absent and one new record claims the account', () => {
    const d = decideRekeys([claim('n1', 'o1', 'a1'), claim('n2', 'o2', 'a2')], (id) => id === 'o1');
    expect(d.rekeys.map((c) => c.newId)).toEqual(['n1']);
    expect(d.rest.map((c) => c.newId)).toEqual(['n2']);
  });

  it('is no re-key when two new records claim one account, even with the old record gone', () => {
    const d = decideRekeys([claim('n1', 'o1', 'a1'), claim('n2', 'o1', 'a1')], () => true);
    expect(d.rekeys).toEqual([]);
    expect(d.rest.map((c) => c.newId).sort()).toEqual(['n1', 'n2']);
  });

  it('counts a claim listed twice once', () => {
    const d = decideRekeys([claim('n1', 'o1', 'a1'), claim('n1', 'o1', 'a1')], () => true);
    expect(d.rekeys.map((c) => c.newId)).toEqual(['n1']);
    expect(d.rest).toEqual([]);
  });
});

describe('re-keys: matching and planning', () => {
  it('a stream batch waits on an account linked to another record of its source', () => {
    const a = oldAccount('a1', 'old1', 'S1');
    const { matches, plan } = matchAndPlan(
      [{ sourceId: 'new1', data: student({ sisId: 'S1' }) }],
      { byKey: { S1: [a] } },
      {
        deferClaims: true,
      },
    );
    expect(matches.decisions.get('new1')).toEqual({ kind: 'wait', account: a, oldId: 'old1' });
    expect(plan.waiting).toMatchObject([
      { newId: 'new1', oldId: 'old1', accountId: 'a1', accountKind: 'student' },
    ]);
    expect(plan.counts.conflicts).toBe(0);
    expect(plan.problems).toEqual([]);
    expect(plan.writes.size).toBe(0);
    expect(plan.changes).toEqual([]);
  });

  it('without waiting (outside a stream) the same claim is a conflict, as before re-keys', () => {
    const a = oldAccount('a1', 'old1', 'S1');
    const { plan } = matchAndPlan([{ sourceId: 'new1', data: student({ sisId: 'S1' }) }], {
      byKey: { S1: [a] },
    });
    expect(plan.counts.conflicts).toBe(1);
    expect(plan.problems[0]!.reason).toContain('old1');
    expect(plan.waiting).toEqual([]);
  });

  it('two new records with one key in one batch both wait on the one account (then both conflict)', () => {
    const a = oldAccount('a1', 'old1', 'S1');
    const { plan } = matchAndPlan(
      [
        { sourceId: 'new1', data: student({ sisId: 'S1' }) },
        { sourceId: 'new2', data: student({ sisId: 'S1' }) },
      ],
      { byKey: { S1: [a] } },
      { deferClaims: true },
    );
    expect(plan.waiting.map((w) => w.accountId)).toEqual(['a1', 'a1']);
    expect(decideRekeys(plan.waiting, () => true).rekeys).toEqual([]);
  });

  it('a re-key moves the account to the new record and keeps the old Clever id as a former identity', () => {
    const a = oldAccount('a1', 'old1', 'S1');
    const { plan } = matchAndPlan(
      [{ sourceId: 'new1', data: student({ sisId: 'S1' }) }],
      { byKey: { S1: [a] } },
      {
        rekeys: { new1: 'old1' },
      },
    );
    expect(plan.counts).toMatchObject({
      rekeyed: 1,
      linked: 0,
      provisioned: 0,
      conflicts: 0,
      reactivated: 0,
    });
    const w = plan.writes.get('a1')!.write;
    expect(w.recordSourceId).toBe('new1');
    expect(w.status).toBe('active');
    expect(w.identities).toContainEqual({ type: 'clever_id', value: 'new1' });
    expect(w.identities).not.toContainEqual({ type: 'clever_id', value: 'old1' });
    expect(plan.formerIdentities).toEqual([{ accountId: 'a1', type: 'clever_id', value: 'old1' }]);
    expect(plan.changes).toEqual([
      {
        district: 'd',
        accountId: 'a1',
        kind: 'rekeyed',
        fields: ['clever:old1', 'clever:new1'],
        runId: 'run1',
      },
    ]);
  });

  it('a re-key found for another old record is no re-key of this account', () => {
    const a = oldAccount('a1', 'old1', 'S1');
    const { plan } = matchAndPlan(
      [{ sourceId: 'new1', data: student({ sisId: 'S1' }) }],
      { byKey: { S1: [a] } },
      {
        rekeys: { new1: 'other' },
      },
    );
    expect(plan.counts.rekeyed).toBe(0);
    expect(plan.counts.conflicts).toBe(1);
  });

  it('with an empty key, an unshared email claim waits, and re-keys like a key claim', () => {
    const a = oldAccount('a1', 'old1', 'S1', {
      email: 'a@d.org',
      identities: [
        { type: 'clever_id', value: 'old1' },
        { type: 'email', value: 'a@d.org' },
      ],
    });
    const rec = [{ sourceId: 'new1', data: student({ email: 'a@d.org' }) }];
    const waited = matchAndPlan(rec, { byEmail: { 'a@d.org': [a] } }, { deferClaims: true });
    expect(waited.plan.waiting).toMatchObject([{ newId: 'new1', oldId: 'old1', accountId: 'a1' }]);
    expect(waited.plan.writes.size).toBe(0);
    const done = matchAndPlan(rec, { byEmail: { 'a@d.org': [a] } }, { rekeys: { new1: 'old1' } });
    expect(done.plan.counts.rekeyed).toBe(1);
    expect(done.plan.writes.get('a1')!.write.identities).toContainEqual({ type: 'email', value: 'a@d.org' });
    // Not waited on and no re-key: an email claim creates an account, as before re-keys.
    const plain = matchAndPlan(rec, { byEmail: { 'a@d.org': [a] } });
    expect(plain.plan.counts.provisioned).toBe(1);
  });

  it('an inactive account linked to another record links at once, reactivated, as before', () => {
    const a = oldAccount('a1', 'old1', 'S1', { status: 'inactive' });
    const { plan } = matchAndPlan(
      [{ sourceId: 'new1', data: student({ sisId: 'S1' }) }],
      { byKey: { S1: [a] } },
      {
        deferClaims: true,
      },
    );
    expect(plan.waiting).toEqual([]);
    expect(plan.counts).toMatchObject({ linked: 1, reactivated: 1 });
  });
});

describe('re-keys at the safety valve', () => {
  const base = { emptiedKinds: [], maxPercent: 5, minCount: 10 };

  it('never holds for re-keys unless holdRekeys is on', () => {
    const kinds = { students: { active: 1000, removing: 0, rekeying: 100 } };
    expect(evaluateSafetyValve({ ...base, kinds }).hold).toBe(false);
    expect(evaluateSafetyValve({ ...base, kinds, holdRekeys: false }).hold).toBe(false);
    const held = evaluateSafetyValve({ ...base, kinds, holdRekeys: true });
    expect(held.hold).toBe(true);
    expect(held.reasons[0]).toContain('re-key 100 of 1000');
  });

  it('holds for re-keys only above the threshold', () => {
    const kinds = { students: { active: 1000, removing: 0, rekeying: 40 } };
    expect(evaluateSafetyValve({ ...base, kinds, holdRekeys: true }).hold).toBe(false);
  });

  it('still holds for deactivations whatever the re-keys', () => {
    const kinds = { students: { active: 1000, removing: 100, rekeying: 0 } };
    expect(evaluateSafetyValve({ ...base, kinds }).reasons[0]).toContain('deactivate 100 of 1000');
  });
});
