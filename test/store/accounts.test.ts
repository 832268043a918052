import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { AccountWrite } from '../../src/model/stored-account.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: accounts', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('counts active sync accounts of a kind up to a limit, and tells whether a district has guardians', async () => {
    const account = (id: string, fields: Partial<AccountWrite> = {}): AccountWrite =>
      accountWrite(id, { district: 'count-d1', ...fields });
    await store.transaction((tx) =>
      tx.accounts.writeMany(
        [
          ...['c1', 'c2', 'c3', 'c4'].map((id) => account(id)),
          account('c-inactive', { status: 'inactive' }),
          account('c-manual', { origin: 'manual' }),
          account('c-staff', { kind: 'staff' }),
          account('c-other', { district: 'count-d2' }),
        ].map((write) => ({ write, isNew: true })),
      ),
    );
    const upTo = (kind: 'student' | 'staff', n: number) =>
      store.accounts.activeSyncCountUpTo('count-d1', kind, n);
    expect(await upTo('student', Infinity)).toBe(4);
    expect(await upTo('student', 3)).toBe(3);
    expect(await upTo('student', 10)).toBe(4);
    expect(await upTo('student', 0)).toBe(0);
    expect(await upTo('staff', Infinity)).toBe(1);
    expect(await store.accounts.hasAny('count-d1', { kind: 'guardian' })).toBe(false);
    await store.transaction((tx) =>
      tx.accounts.writeMany([{ write: account('c-guardian', { kind: 'guardian' }), isNew: true }]),
    );
    expect(await store.accounts.hasAny('count-d1', { kind: 'guardian' })).toBe(true);
    expect(await store.accounts.hasAny('count-d1', { kind: 'guardian', recordSource: 'csv' })).toBe(false);
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
