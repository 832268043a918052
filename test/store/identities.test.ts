import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { AccountWrite } from '../../src/model/stored-account.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: identities', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('finds accounts by each identity exactly, in their own district only', async () => {
    const account = (id: string, district: string, identities: AccountWrite['identities']): AccountWrite =>
      accountWrite(id, { district, name: { last: 'Lookup' }, identities });
    const hostile = 'S:1 "quoted" \\ back\tslash ünï';
    await store.transaction((tx) =>
      tx.accounts.writeMany([
        {
          write: account('look-1', 'look-d1', [
            { type: 'sis_id', value: 'S1' },
            { type: 'clever_id', value: 'c1' },
            { type: 'email', value: 'one@example.org' },
          ]),
          isNew: true,
        },
        { write: account('look-2', 'look-d1', [{ type: 'sis_id', value: 'S10' }]), isNew: true },
        { write: account('look-3', 'look-d1', [{ type: 'state_id', value: hostile }]), isNew: true },
        { write: account('look-4', 'look-d2', [{ type: 'sis_id', value: 'S1' }]), isNew: true },
        { write: account('look-5', 'look-d1', []), isNew: true },
      ]),
    );
    const ids = async (type: Parameters<Store['identities']['lookup']>[1], values: string[]) =>
      [...(await store.identities.lookup('look-d1', type, values)).entries()].map(
        ([v, list]) => `${v}=${list.map((a) => a.id).join(',')}`,
      );
    expect(await ids('sis_id', ['S1'])).toEqual(['S1=look-1']);
    expect(new Set(await ids('sis_id', ['S1', 'S10', 'S100']))).toEqual(new Set(['S1=look-1', 'S10=look-2']));
    // A value of another type is not a match, and neither is a token's prefix.
    expect(await ids('student_number', ['S1'])).toEqual([]);
    expect(await ids('clever_id', ['c'])).toEqual([]);
    expect(await ids('state_id', [hostile])).toEqual([`${hostile}=look-3`]);
    const one = await store.accounts.get('look-1');
    expect(one?.identities).toEqual([
      { type: 'clever_id', value: 'c1' },
      { type: 'email', value: 'one@example.org' },
      { type: 'sis_id', value: 'S1' },
    ]);
    expect((await store.accounts.get('look-3'))?.identities).toEqual([{ type: 'state_id', value: hostile }]);
    expect((await store.accounts.get('look-5'))?.identities).toEqual([]);
    // An update replaces the identities: the old value no longer finds the account.
    await store.transaction((tx) =>
      tx.accounts.writeMany([
        { write: account('look-1', 'look-d1', [{ type: 'sis_id', value: 'S2' }]), isNew: false },
      ]),
    );
    expect(await ids('sis_id', ['S1', 'S2'])).toEqual(['S2=look-1']);
    await store.accounts.update(account('look-2', 'look-d1', [{ type: 'sis_id', value: 'S20' }]), 'active');
    expect(await ids('sis_id', ['S10', 'S20'])).toEqual(['S20=look-2']);
  });
});
