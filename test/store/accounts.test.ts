import { afterAll, beforeAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { AccountWrite } from '../../src/model/stored-account.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('store: accounts', (dbs) => {
  let location: string;
  let store: Store;

  beforeAll(async () => {
    location = await dbs.fresh();
    store = await Store.open({ location });
  });
  afterAll(async () => {
    await store.close();
  });

  it('tells which records have a quiet account: active, derived from that content under those rules, not edited since', async () => {
    const account = (id: string, fields: Partial<AccountWrite> = {}): AccountWrite =>
      accountWrite(id, { district: 'quiet-d1', name: { last: 'Quiet' }, ...fields });
    const derived = { recordHash: 'h1', version: 'v1' };
    await store.transaction((tx) =>
      tx.accounts.writeMany([
        { write: { ...account('q-yes'), derived }, isNew: true },
        { write: { ...account('q-inactive', { status: 'inactive' }), derived }, isNew: true },
        { write: { ...account('q-old-rules'), derived: { recordHash: 'h1', version: 'v0' } }, isNew: true },
        {
          write: { ...account('q-other-content'), derived: { recordHash: 'h0', version: 'v1' } },
          isNew: true,
        },
        {
          write: { ...account('q-no-record-hash'), derived: { recordHash: null, version: 'v1' } },
          isNew: true,
        },
        { write: account('q-never-derived'), isNew: true },
        { write: { ...account('q-edited'), derived }, isNew: true },
        { write: { ...account('q-district', { district: 'quiet-d2' }), derived }, isNew: true },
        { write: { ...account('q-source', { recordSource: 'csv' }), derived }, isNew: true },
      ]),
    );
    // Edited by hand after the sync derived it: its state is no longer the synced one.
    await store.accounts.update({ ...account('q-edited'), name: { last: 'Edited' } }, 'active');
    const ids = [
      'q-yes',
      'q-inactive',
      'q-old-rules',
      'q-other-content',
      'q-no-record-hash',
      'q-never-derived',
      'q-edited',
      'q-district',
      'q-source',
      'q-missing',
    ];
    const quiet = await store.accounts.quietRecords(
      'quiet-d1',
      'clever',
      ids.map((id) => ({ sourceId: `rec-${id}`, hash: 'h1' })),
      'v1',
    );
    expect([...quiet]).toEqual(['rec-q-yes']);
    // The same account with other content given for its record is not quiet.
    expect(
      await store.accounts.quietRecords('quiet-d1', 'clever', [{ sourceId: 'rec-q-yes', hash: 'h2' }], 'v1'),
    ).toEqual(new Set());
    expect(await store.accounts.quietRecords('quiet-d1', 'clever', [], 'v1')).toEqual(new Set());
  });
});
