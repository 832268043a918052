import { expect, it } from 'vitest';
import type { ChangeWrite } from '../../src/model/stored-account.js';
import type { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: change feed', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('appends changes in order, in the transaction of the change, and reads them after a sequence number', async () => {
    expect(await store.changeFeed.lastSeq()).toBe(0);
    const change = (district: string, accountId: string): ChangeWrite => ({
      district,
      accountId,
      kind: 'created',
      fields: ['name'],
      runId: 'r1',
    });
    await store.transaction((tx) =>
      tx.changeFeed.append([change('f1', 'a1'), change('f2', 'b1'), change('f1', 'a2')]),
    );
    await expect(
      store.transaction(async (tx) => {
        await tx.changeFeed.append([change('f1', 'rolled-back')]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const all = await store.changeFeed.after(0);
    expect(all.map((c) => [c.district, c.accountId, c.kind, c.fields, c.runId])).toEqual([
      ['f1', 'a1', 'created', ['name'], 'r1'],
      ['f2', 'b1', 'created', ['name'], 'r1'],
      ['f1', 'a2', 'created', ['name'], 'r1'],
    ]);
    expect(all.map((c) => c.seq)).toEqual([...all.map((c) => c.seq)].sort((a, b) => a - b));
    expect(await store.changeFeed.lastSeq()).toBe(all[2]!.seq);
    expect((await store.changeFeed.after(all[0]!.seq, { district: 'f1' })).map((c) => c.accountId)).toEqual([
      'a2',
    ]);
    expect((await store.changeFeed.after(0, { limit: 1 })).map((c) => c.accountId)).toEqual(['a1']);
  });
});
