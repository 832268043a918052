import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { createRun, withFreshStore } from './fixtures.js';

describeEachDatabase('store: pending deactivations', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('holds deactivations per run, counts what approving the run would deactivate, and clears them', async () => {
    await createRun(store, 'run-p');
    await store.transaction(async (tx) => {
      await tx.accounts.writeMany([
        { write: accountWrite('p-a'), isNew: true },
        { write: accountWrite('p-b', { kind: 'staff' }), isNew: true },
        { write: accountWrite('p-c'), isNew: true },
        { write: accountWrite('p-inactive', { status: 'inactive' }), isNew: true },
      ]);
      // One via a pending archive of the record the account was provisioned from.
      await tx.runs.addPendingArchives('run-p', 'students', ['rec-p-c'], 'clever');
    });
    const held = [
      { accountId: 'p-b', kind: 'staff' as const, reason: 'gone' },
      { accountId: 'p-a', kind: 'student' as const, reason: 'gone' },
      { accountId: 'p-inactive', kind: 'student' as const, reason: 'gone' },
    ];
    await store.pendingDeactivations.add('run-p', held);
    await store.pendingDeactivations.add('run-p', held.slice(0, 1));
    expect((await store.pendingDeactivations.list('run-p')).map((p) => p.accountId)).toEqual([
      'p-a',
      'p-b',
      'p-inactive',
    ]);
    expect(await store.pendingDeactivations.countsByKind('run-p', 'd1')).toEqual({ student: 2, staff: 1 });
    await store.pendingDeactivations.clear('run-p');
    expect(await store.pendingDeactivations.list('run-p')).toEqual([]);
  });
});
