import { afterAll, beforeAll, expect, it } from 'vitest';
import { contentHash } from '../../src/model/hash.js';
import type { Staff, Student } from '../../src/model/entities.js';
import type { AccountWrite } from '../../src/model/stored-account.js';
import type { AccountSearchQuery } from '../../src/store/queries/account-search.js';
import { Store } from '../../src/store/store.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('store: account search and detail', (dbs) => {
  let store: Store;
  const hostile = 'x%_\\"\'; drop';

  const accounts: AccountWrite[] = [
    accountWrite('as-01', {
      district: 'as-d1',
      recordSourceId: 'rec-stu-1',
      name: { first: 'Ann', last: 'Lee' },
      email: 'ann.lee@example.org',
      identities: [
        { type: 'clever_id', value: 'clever-ann' },
        { type: 'email', value: 'ann.lee@example.org' },
        { type: 'sis_id', value: 'SIS-1' },
        { type: 'state_id', value: 'ST-1' },
        { type: 'student_number', value: 'N-1' },
      ],
    }),
    accountWrite('as-02', {
      district: 'as-d1',
      kind: 'staff',
      recordSourceId: 'rec-staff-1',
      name: { first: 'Annabel', last: 'Marsh' },
      roles: ['teacher'],
      access: { type: 'school', schoolIds: ['sch-1'], grades: [] },
      identities: [
        { type: 'clever_id', value: 'clever-annabel' },
        { type: 'staff_id', value: 'STF-1' },
        { type: 'teacher_number', value: 'T-1' },
      ],
    }),
    accountWrite('as-03', {
      district: 'as-d1',
      status: 'inactive',
      recordSourceId: 'rec-stu-3',
      name: { first: 'Bo', last: 'Leeds' },
      identities: [{ type: 'sis_id', value: hostile }],
    }),
    // The same identifier in another district.
    accountWrite('as-04', {
      district: 'as-d2',
      recordSourceId: 'rec-stu-4',
      name: { first: 'Cy', last: 'Lee' },
      identities: [{ type: 'sis_id', value: 'SIS-1' }],
    }),
  ];
  // Enough plain accounts for several pages.
  for (let i = 10; i < 47; i++) {
    accounts.push(
      accountWrite(`as-${i}`, { district: 'as-d1', name: { first: `P${i}`, last: 'Pager' }, identities: [] }),
    );
  }

  beforeAll(async () => {
    store = await Store.open({ location: await dbs.fresh() });
    await store.districts.ensure('as-d1', 'One');
    await store.districts.ensure('as-d2', 'Two');
    const studentData: Student = {
      name: { first: 'Ann', last: 'Lee' },
      schoolId: 'sch-1',
      schoolIds: ['sch-1'],
      username: 'alee7',
    };
    const staffData: Staff = {
      name: { first: 'Annabel', last: 'Marsh' },
      roles: ['teacher'],
      schoolIds: ['sch-1'],
      username: 'amarsh',
    };
    await store.transaction(async (tx) => {
      await tx.records.write(
        { district: 'as-d1', source: 'clever' },
        'students',
        [{ sourceId: 'rec-stu-1', data: studentData, hash: contentHash(studentData), isNew: true }],
        null,
      );
      await tx.records.write(
        { district: 'as-d1', source: 'clever' },
        'staff',
        [{ sourceId: 'rec-staff-1', data: staffData, hash: contentHash(staffData), isNew: true }],
        null,
      );
      await tx.accounts.writeMany(accounts.map((write) => ({ write, isNew: true })));
      await tx.changeFeed.append(
        Array.from({ length: 5 }, (_, i) => ({
          district: 'as-d1',
          accountId: 'as-02',
          kind: i === 0 ? ('created' as const) : ('updated' as const),
          fields: i === 0 ? [] : [`f${i}`],
          runId: null,
        })),
      );
      await tx.changeFeed.append([
        { district: 'as-d1', accountId: 'as-01', kind: 'created', fields: [], runId: null },
      ]);
    });
    await store.overrides.set({
      district: 'as-d1',
      keyType: 'staff_id',
      keyValue: 'STF-1',
      fields: { title: 'Coach' },
      origin: 'csv',
    });
    await store.overrides.set({
      district: 'as-d1',
      keyType: 'account',
      keyValue: 'as-02',
      fields: { accessType: 'district' },
      origin: 'manual',
    });
    // Someone else's override is not this account's.
    await store.overrides.set({
      district: 'as-d1',
      keyType: 'staff_id',
      keyValue: 'STF-9',
      fields: { title: 'Other' },
      origin: 'manual',
    });
  });
  afterAll(async () => {
    await store?.close();
  });

  const ids = async (query: AccountSearchQuery) =>
    (await store.accountSearch.search(query)).items.map((a) => a.id);

  it('finds an account by every kind of identifier, exactly', async () => {
    const d1 = { district: 'as-d1' };
    expect(await ids({ ...d1, identifier: 'clever-ann' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'ANN.LEE@example.org' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'SIS-1' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'ST-1' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'N-1' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'STF-1' })).toEqual(['as-02']);
    expect(await ids({ ...d1, identifier: 'T-1' })).toEqual(['as-02']);
    expect(await ids({ ...d1, identifier: 'as-02' })).toEqual(['as-02']);
    expect(await ids({ ...d1, identifier: 'rec-stu-3' })).toEqual(['as-03']);
    expect(await ids({ ...d1, identifier: hostile })).toEqual(['as-03']);
    expect(await ids({ ...d1, identifier: 'alee7', identifierKind: 'username' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'amarsh', identifierKind: 'username' })).toEqual(['as-02']);
    // A prefix, another type's value, or a username without asking for one is no match.
    expect(await ids({ ...d1, identifier: 'SIS-' })).toEqual([]);
    expect(await ids({ ...d1, identifier: 'SIS-1', identifierKind: 'state_id' })).toEqual([]);
    expect(await ids({ ...d1, identifier: 'SIS-1', identifierKind: 'sis_id' })).toEqual(['as-01']);
    expect(await ids({ ...d1, identifier: 'alee7' })).toEqual([]);
    expect(await ids({ ...d1, identifier: '%' })).toEqual([]);
    // Across districts, and with filters.
    expect(await ids({ identifier: 'SIS-1' })).toEqual(['as-01', 'as-04']);
    expect(await ids({ identifier: 'rec-stu-4' })).toEqual(['as-04']);
    expect(await ids({ district: 'as-d2', identifier: 'SIS-1' })).toEqual(['as-04']);
    expect(await ids({ identifier: 'SIS-1', kind: 'staff' })).toEqual([]);
    expect(await ids({ ...d1, identifier: hostile, status: 'active' })).toEqual([]);
  });

  it('finds accounts by name words and by email prefix', async () => {
    expect(await ids({ district: 'as-d1', text: 'ann' })).toEqual(['as-01', 'as-02']);
    expect(await ids({ district: 'as-d1', text: 'Ann Lee' })).toEqual(['as-01']);
    expect(await ids({ text: 'lee' })).toEqual(['as-01', 'as-03', 'as-04']);
    expect(await ids({ text: 'lee', district: 'as-d2' })).toEqual(['as-04']);
    expect(await ids({ text: 'ann.lee@' })).toEqual(['as-01']);
    expect(await ids({ text: 'STF-1' })).toEqual(['as-02']);
    // Name keys are not name parts; a pattern character is a plain character.
    expect(await ids({ text: 'first' })).toEqual([]);
    expect(await ids({ text: '%' })).toEqual([]);
    expect(await ids({ text: '_' })).toEqual([]);
  });

  it('pages completely and stably in id order', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await store.accountSearch.search({
        district: 'as-d1',
        limit: 7,
        ...(after !== undefined ? { after } : {}),
      });
      seen.push(...page.items.map((a) => a.id));
      pages++;
      if (page.next === null) break;
      after = page.next;
    }
    const expected = accounts
      .filter((a) => a.district === 'as-d1')
      .map((a) => a.id)
      .sort();
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    const exact = await store.accountSearch.search({ district: 'as-d1', limit: expected.length });
    expect(exact.next).toBeNull();
    expect((await store.accountSearch.search({ district: 'as-d1', limit: 10_000 })).items.length).toBe(
      expected.length,
    );
  });

  it('reads an account with its identities, access, overrides and history', async () => {
    expect(await store.accountSearch.detail('nope')).toBeUndefined();
    const d = await store.accountSearch.detail('as-02', { historyLimit: 3 });
    expect(d?.account).toMatchObject({
      id: 'as-02',
      kind: 'staff',
      roles: ['teacher'],
      access: { type: 'school', schoolIds: ['sch-1'], grades: [] },
      identities: [
        { type: 'clever_id', value: 'clever-annabel' },
        { type: 'staff_id', value: 'STF-1' },
        { type: 'teacher_number', value: 'T-1' },
      ],
    });
    expect(d?.account).not.toHaveProperty('stateHash');
    expect(d?.overrides.map((o) => `${o.keyType}=${o.keyValue}`).sort()).toEqual([
      'account=as-02',
      'staff_id=STF-1',
    ]);
    expect(d?.history.map((c) => c.fields.join())).toEqual(['f4', 'f3', 'f2']);
    expect(d?.history.every((c) => c.accountId === 'as-02')).toBe(true);
    const older = await store.accountSearch.history('as-02', { before: d!.historyBefore!, limit: 3 });
    expect(older.changes.map((c) => c.kind)).toEqual(['updated', 'created']);
    expect(older.before).toBeNull();
    const one = await store.accountSearch.detail('as-01');
    expect(one?.overrides).toEqual([]);
    expect(one?.history.map((c) => c.kind)).toEqual(['created']);
    expect(one?.historyBefore).toBeNull();
  });
});
