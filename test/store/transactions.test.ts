import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { scope, student, withFreshStore } from './fixtures.js';

describeEachDatabase('store: transactions', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('a rolled-back transaction sees its own writes, returns its value, and keeps nothing', async () => {
    const seen = await store.rolledBack(async (tx) => {
      await tx.records.write(scope, 'students', [student(1), student(2)], null);
      return tx.records.count(scope, 'students');
    });
    expect(seen).toBe(2);
    expect(await store.records.count(scope, 'students')).toBe(0);
  });

  it('a rolled-back transaction whose function throws passes the error on and keeps nothing', async () => {
    await expect(
      store.rolledBack(async (tx) => {
        await tx.records.write(scope, 'students', [student(3)], null);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.records.count(scope, 'students')).toBe(0);
  });

  it('a committed transaction keeps its writes', async () => {
    await store.transaction((tx) => tx.records.write(scope, 'students', [student(4)], null));
    expect(await store.records.count(scope, 'students')).toBe(1);
  });
});
