import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: overrides', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('sets, finds, lists, replaces the CSV ones and removes overrides; the stamp changes with each', async () => {
    const D = 'o1';
    expect(await store.overrides.hasAny(D)).toBe(false);
    const stamps = [await store.overrides.stamp(D)];
    await store.overrides.set({
      district: D,
      keyType: 'email',
      keyValue: 'a@x.org',
      fields: { title: 'A' },
      origin: 'manual',
    });
    await store.overrides.set({
      district: D,
      keyType: 'sis_id',
      keyValue: 's1',
      fields: { title: 'S' },
      origin: 'csv',
    });
    await store.overrides.set({
      district: 'o2',
      keyType: 'email',
      keyValue: 'a@x.org',
      fields: {},
      origin: 'manual',
    });
    stamps.push(await store.overrides.stamp(D));
    expect(await store.overrides.hasAny(D)).toBe(true);
    const found = await store.overrides.find(D, [
      { keyType: 'email', keyValue: 'a@x.org' },
      { keyType: 'sis_id', keyValue: 'nobody' },
    ]);
    expect(found.map((o) => [o.district, o.keyType, o.keyValue, o.fields, o.origin])).toEqual([
      [D, 'email', 'a@x.org', { title: 'A' }, 'manual'],
    ]);
    await store.overrides.replaceCsv(D, [{ keyType: 'sis_id', keyValue: 's2', fields: { title: 'T' } }]);
    stamps.push(await store.overrides.stamp(D));
    expect((await store.overrides.list(D)).map((o) => `${o.keyType}=${o.keyValue}:${o.origin}`)).toEqual([
      'email=a@x.org:manual',
      'sis_id=s2:csv',
    ]);
    expect(await store.overrides.remove(D, 'email', 'a@x.org')).toBe(true);
    expect(await store.overrides.remove(D, 'email', 'a@x.org')).toBe(false);
    stamps.push(await store.overrides.stamp(D));
    expect(new Set(stamps).size).toBe(stamps.length);
    expect((await store.overrides.list('o2')).length).toBe(1);
  });
});
