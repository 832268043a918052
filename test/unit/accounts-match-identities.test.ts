import { describe, expect, it } from 'vitest';
import { deriveAccount } from '../../src/accounts/derive.js';
import { storedAccount } from '../helpers/accounts.js';
import type { DesiredAccount } from '../../src/accounts/derive.js';
import { identityLookups, matchIdentities, sharedEmail } from '../../src/accounts/match-identities.js';
import type { IdentityCandidates, IdentityMatches } from '../../src/accounts/match-identities.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { DistrictConfig } from '../../src/model/district-config.js';
import type { SourceKind, Student } from '../../src/model/entities.js';
import type { AccountHead, StoredAccount } from '../../src/model/stored-account.js';

const config = districtConfigSchema.parse({});

const student = (fields: Partial<Student>): Student => ({
  name: { first: 'A', last: 'B' },
  schoolId: 's1',
  schoolIds: ['s1'],
  grade: '05',
  ...fields,
});

const account = (id: string, fields: Partial<StoredAccount> = {}): StoredAccount =>
  storedAccount(id, { recordSource: 'csv', recordSourceId: `csv-${id}`, ...fields });

/** What the store has for each value, as the load phase would have read it. */
interface Store {
  byKey?: Record<string, StoredAccount[]>;
  byEmail?: Record<string, StoredAccount[]>;
  activeElsewhere?: string[];
  emailHolders?: Record<string, AccountHead[]>;
}

/** Runs matching for a batch of clever students, the way provisioning does after its reads. */
function match(
  records: Array<{ sourceId: string; data: Student }>,
  store: Store = {},
  opts: { linked?: Record<string, { id: string }>; config?: DistrictConfig; source?: SourceKind } = {},
): IdentityMatches {
  const cfg = opts.config ?? config;
  const source = opts.source ?? 'clever';
  const desired = new Map<string, DesiredAccount>(
    records.map((r) => [r.sourceId, deriveAccount('students', r.sourceId, source, r.data, cfg)]),
  );
  const linked = new Map(Object.entries(opts.linked ?? {}));
  const { unlinked } = identityLookups(records, desired, linked);
  const candidates: IdentityCandidates = {
    byKey: new Map(Object.entries(store.byKey ?? {})),
    byEmail: new Map(Object.entries(store.byEmail ?? {})),
    activeElsewhere: new Set(store.activeElsewhere ?? []),
    emailHolders: new Map(Object.entries(store.emailHolders ?? {})),
  };
  return matchIdentities({
    district: 'd',
    kind: 'student',
    source,
    matchByEmail: cfg.matchByEmail,
    records,
    desired,
    linked,
    unlinked,
    candidates,
  });
}

describe('identity matching', () => {
  it('links a record to the one account holding its key', () => {
    const a = account('a1', { identities: [{ type: 'sis_id', value: 'S1' }] });
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }], { byKey: { S1: [a] } });
    expect(m.decisions.get('r1')).toEqual({ kind: 'link', account: a });
  });

  it('creates an account when nobody holds the key', () => {
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }]);
    expect(m.decisions.get('r1')).toEqual({ kind: 'create' });
  });

  it('never matches empty values: no key, no email, nothing looked up', () => {
    const holder = account('a1', { identities: [{ type: 'sis_id', value: '' }] });
    const records = [{ sourceId: 'r1', data: student({ sisId: '  ', email: '' }) }];
    const m = match(records, { byKey: { '': [holder] }, byEmail: { '': [holder] } });
    expect(m.decisions.has('r1')).toBe(false); // no decision: a new account
    expect(m.emailHolders.size).toBe(0);
    const desired = new Map([['r1', deriveAccount('students', 'r1', 'clever', records[0]!.data, config)]]);
    expect(identityLookups(records, desired, new Map()).keyType).toBeUndefined();
  });

  it('reports two candidates as a conflict, and the record then holds no email', () => {
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'x@d.org' }) }], {
      byKey: { S1: [account('a1'), account('a2')] },
    });
    expect(m.decisions.get('r1')).toEqual({
      kind: 'conflict',
      reason: '2 accounts hold its sis_id; no account was created or linked',
    });
    expect(m.emailHolders.has('x@d.org')).toBe(false);
  });

  it('makes two records of one batch with the same key a conflict for the second', () => {
    const m = match([
      { sourceId: 'r1', data: student({ sisId: 'S1' }) },
      { sourceId: 'r2', data: student({ sisId: 'S1' }) },
    ]);
    expect(m.decisions.get('r1')).toEqual({ kind: 'create' });
    expect(m.decisions.get('r2')?.kind).toBe('conflict');
  });

  it('never links a manual account', () => {
    const manual = account('m1', { origin: 'manual', recordSource: null, recordSourceId: null });
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'x@d.org' }) }], {
      byKey: { S1: [manual] },
    });
    expect(m.decisions.get('r1')).toEqual({
      kind: 'conflict',
      reason: 'a manually created account holds its sis_id; link or remove it by hand',
    });
    // Nor by email: the record gets an account of its own.
    const byEmail = match([{ sourceId: 'r1', data: student({ email: 'x@d.org' }) }], {
      byEmail: { 'x@d.org': [manual] },
    });
    expect(byEmail.decisions.has('r1')).toBe(false);
  });

  it('ignores candidates of another kind', () => {
    const staff = account('t1', { kind: 'staff' });
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }], { byKey: { S1: [staff] } });
    expect(m.decisions.get('r1')).toEqual({ kind: 'create' });
  });

  it('does not take the account of another active record of the same source', () => {
    const other = account('a1', { recordSource: 'clever', recordSourceId: 'r9' });
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }], { byKey: { S1: [other] } });
    expect(m.decisions.get('r1')?.kind).toBe('conflict');
  });

  it('moves accounts between sources one way only', () => {
    const cleverOwned = account('a1', { recordSource: 'clever', recordSourceId: 'c1' });
    const fromCsv = match(
      [{ sourceId: 'r1', data: student({ sisId: 'S1' }) }],
      { byKey: { S1: [cleverOwned] }, activeElsewhere: ['clever\u0000c1'] },
      { source: 'csv' },
    );
    expect(fromCsv.decisions.get('r1')?.kind).toBe('conflict');
    const csvOwned = account('a2', { recordSource: 'csv', recordSourceId: 'x1' });
    const fromClever = match([{ sourceId: 'r1', data: student({ sisId: 'S1' }) }], {
      byKey: { S1: [csvOwned] },
      activeElsewhere: ['csv\u0000x1'],
    });
    expect(fromClever.decisions.get('r1')).toEqual({ kind: 'link', account: csvOwned });
  });

  it('matches by email when no key matched and one account holds it', () => {
    const a = account('a1', { email: 'x@d.org', identities: [{ type: 'email', value: 'x@d.org' }] });
    const m = match([{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'X@d.org' }) }], {
      byEmail: { 'x@d.org': [a] },
      emailHolders: { 'x@d.org': [a] },
    });
    expect(m.decisions.get('r1')).toEqual({ kind: 'link', account: a });
    expect(sharedEmail(m, 'x@d.org')).toBe(false); // the person does not share with themselves
    expect([...m.emailHolders.get('x@d.org')!]).toEqual(['a1']);
    const off = match(
      [{ sourceId: 'r1', data: student({ sisId: 'S1', email: 'x@d.org' }) }],
      { byEmail: { 'x@d.org': [a] }, emailHolders: { 'x@d.org': [a] } },
      { config: districtConfigSchema.parse({ matchByEmail: false }) },
    );
    expect(off.decisions.get('r1')).toEqual({ kind: 'create' });
    expect(sharedEmail(off, 'x@d.org')).toBe(true);
  });

  it('makes a shared email nobody’s identity and never a matching key', () => {
    const a = account('a1', { email: 'x@d.org', identities: [{ type: 'email', value: 'x@d.org' }] });
    const b = account('a2', { email: 'x@d.org' });
    const m = match([{ sourceId: 'r1', data: student({ email: 'x@d.org' }) }], {
      byEmail: { 'x@d.org': [a] },
      emailHolders: { 'x@d.org': [a, b] },
    });
    expect(m.decisions.has('r1')).toBe(false); // a new account, not a link to a1
    expect(sharedEmail(m, 'x@d.org')).toBe(true);
    expect(sharedEmail(m, null)).toBe(false);
    // Two records of one batch with one email share it too.
    const twins = match([
      { sourceId: 'r1', data: student({ email: 'y@d.org' }) },
      { sourceId: 'r2', data: student({ email: 'Y@d.org' }) },
    ]);
    expect([...twins.emailHolders.get('y@d.org')!]).toEqual(['new:r1', 'new:r2']);
    expect(sharedEmail(twins, 'y@d.org')).toBe(true);
  });

  it('lets an email go with the account that changes it: not shared with the one who takes it', () => {
    // r1 takes over a1 (by key), which holds x@ in the store, and brings y@; r2 is new with x@.
    const a = account('a1', { email: 'x@d.org', identities: [{ type: 'sis_id', value: 'S1' }] });
    const m = match(
      [
        { sourceId: 'r1', data: student({ sisId: 'S1', email: 'y@d.org' }) },
        { sourceId: 'r2', data: student({ sisId: 'S2', email: 'x@d.org' }) },
      ],
      { byKey: { S1: [a] }, emailHolders: { 'x@d.org': [a] } },
    );
    expect(m.decisions.get('r1')).toEqual({ kind: 'link', account: a });
    expect([...m.emailHolders.get('x@d.org')!]).toEqual(['new:r2']);
    expect(sharedEmail(m, 'x@d.org')).toBe(false);
  });

  it('counts a linked record as its own account, not as a second holder', () => {
    const mine = account('a1', { recordSource: 'clever', recordSourceId: 'r1', email: 'x@d.org' });
    const m = match(
      [{ sourceId: 'r1', data: student({ email: 'x@d.org' }) }],
      { emailHolders: { 'x@d.org': [mine] } },
      { linked: { r1: { id: 'a1' } } },
    );
    expect(m.decisions.size).toBe(0); // linked records are not matched again
    expect([...m.emailHolders.get('x@d.org')!]).toEqual(['a1']);
    expect(sharedEmail(m, 'x@d.org')).toBe(false);
  });
});
