import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { createRun, scope, student, withFreshStore } from './fixtures.js';

describeEachDatabase('store: pending re-keys and former identities', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('keeps a run’s re-keys, counts them per kind, leaves re-keyed accounts out of deactivations, and drops them', async () => {
    await createRun(store, 'run-k');
    await store.transaction(async (tx) => {
      await tx.accounts.writeMany([
        { write: accountWrite('k-a', { recordSourceId: 'old-a' }), isNew: true },
        { write: accountWrite('k-b', { kind: 'staff', recordSourceId: 'old-b' }), isNew: true },
        { write: accountWrite('k-c', { recordSourceId: 'old-c' }), isNew: true },
      ]);
      await tx.runs.addPendingArchives('run-k', 'students', ['old-a', 'old-c'], 'clever');
      await tx.runs.addPendingArchives('run-k', 'staff', ['old-b'], 'clever');
    });
    const rekeys = [
      {
        entity: 'students' as const,
        source: 'clever' as const,
        oldId: 'old-a',
        newId: 'new-a',
        accountId: 'k-a',
        accountKind: 'student' as const,
      },
      {
        entity: 'staff' as const,
        source: 'clever' as const,
        oldId: 'old-b',
        newId: 'new-b',
        accountId: 'k-b',
        accountKind: 'staff' as const,
      },
    ];
    await store.pendingRekeys.add('run-k', rekeys);
    await store.pendingRekeys.add('run-k', rekeys.slice(0, 1));
    expect(await store.pendingRekeys.list('run-k')).toEqual([rekeys[1], rekeys[0]]);
    expect(await store.pendingRekeys.countsByKind('run-k')).toEqual({ student: 1, staff: 1 });
    // Only k-c would be deactivated by archiving the old records: k-a and k-b follow their people.
    expect(await store.pendingDeactivations.countsByKind('run-k', 'd1')).toEqual({ student: 1 });
    await store.pendingRekeys.remove('run-k', rekeys.slice(1));
    expect(await store.pendingRekeys.list('run-k')).toEqual([rekeys[0]]);
    await store.pendingRekeys.clear('run-k');
    expect(await store.pendingRekeys.list('run-k')).toEqual([]);
    expect(await store.pendingRekeys.countsByKind('run-k')).toEqual({});
  });

  it('counts a person whose old and new records are both active once, for status', async () => {
    await store.records.write(scope, 'students', [student(1), student(2), student(3), student(4)], null);
    const [one, two, three, four] = [1, 2, 3, 4].map((i) => student(i).sourceId) as [
      string,
      string,
      string,
      string,
    ];
    await createRun(store, 'run-h1');
    await createRun(store, 'run-h2');
    const rekey = (oldId: string, newId: string) => ({
      entity: 'students' as const,
      source: 'clever' as const,
      oldId,
      newId,
      accountId: `acct-${oldId}`,
      accountKind: 'student' as const,
    });
    expect(await store.pendingRekeys.unsettledOldRecords('d1')).toEqual({});
    // Two runs found the same re-key of `one` (a rejected run, then a held one): counted once.
    await store.pendingRekeys.add('run-h1', [rekey(one, three), rekey(two, four)]);
    await store.pendingRekeys.add('run-h2', [rekey(one, three)]);
    expect(await store.pendingRekeys.unsettledOldRecords('d1')).toEqual({ students: 2 });
    // Once either record of a pair is gone, the pair is one record again.
    await store.records.archive(scope, 'students', [four], 'run-h2');
    expect(await store.pendingRekeys.unsettledOldRecords('d1')).toEqual({ students: 1 });
    await store.records.archive(scope, 'students', [one], 'run-h2');
    expect(await store.pendingRekeys.unsettledOldRecords('d1')).toEqual({});
  });

  it('finds an account by a former identity only when no account holds it now', async () => {
    await store.transaction(async (tx) => {
      await tx.accounts.writeMany([
        { write: accountWrite('f-a', { identities: [{ type: 'clever_id', value: 'c-new' }] }), isNew: true },
        {
          write: accountWrite('f-b', { identities: [{ type: 'clever_id', value: 'c-taken' }] }),
          isNew: true,
        },
      ]);
      await tx.identities.addFormer('d1', [{ accountId: 'f-a', type: 'clever_id', value: 'c-old' }], null);
      await tx.identities.addFormer(
        'd1',
        [
          { accountId: 'f-a', type: 'clever_id', value: 'c-old' },
          { accountId: 'f-a', type: 'clever_id', value: 'c-taken' },
        ],
        null,
      );
    });
    expect(await store.identities.formerOf('f-a')).toEqual([
      { type: 'clever_id', value: 'c-old' },
      { type: 'clever_id', value: 'c-taken' },
    ]);
    const ids = async (v: string) =>
      (await store.accounts.bySignInIdentity('d1', 'clever_id', v)).map((a) => a.id);
    expect(await ids('c-new')).toEqual(['f-a']);
    expect(await ids('c-old')).toEqual(['f-a']);
    expect(await ids('c-taken')).toEqual(['f-b']);
    expect(await ids('c-none')).toEqual([]);
    expect(await store.accounts.bySignInIdentity('other-district', 'clever_id', 'c-old')).toEqual([]);
  });
});
