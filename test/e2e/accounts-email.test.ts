import { expect, it } from 'vitest';
import { deactivateForArchived } from '../../src/accounts/deactivation.js';
import { deriveVersion, provisionBatch } from '../../src/accounts/provision.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import type { Student } from '../../src/model/entities.js';
import { contentHash } from '../../src/model/hash.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';

const student = (i: number, email: string): Student => ({
  name: { first: `F${i}`, last: `L${i}` },
  email,
  schoolId: 's1',
  schoolIds: ['s1'],
  grade: '05',
  sisId: `S${i}`,
});

describeEachDatabase('shared emails', (dbs) => {
  it('an email held by two people is nobody’s login identity until one of them leaves', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      await store.districts.ensure('d', 'd');
      const config = districtConfigSchema.parse({});
      const version = await deriveVersion(store, 'd', config);
      const batch = (records: Array<{ sourceId: string; data: Student }>) =>
        store.transaction((tx) =>
          provisionBatch(tx, {
            runId: null,
            district: 'd',
            source: 'clever',
            entity: 'students',
            config,
            deriveVersion: version,
            records: records.map((r) => ({ ...r, hash: contentHash(r.data) })),
          }),
        );
      const first = await batch([{ sourceId: 'a', data: student(1, 'Twin@Example.org') }]);
      expect(first.counts.provisioned).toBe(1);
      const [a] = await store.accounts.list({ district: 'd' });
      expect(a!.identities).toContainEqual({ type: 'email', value: 'twin@example.org' });

      // A second person arrives with the same email: both lose it as a login identity.
      const second = await batch([{ sourceId: 'b', data: student(2, 'twin@example.org') }]);
      expect(second.problems).toContainEqual(expect.objectContaining({ recordId: 'b', field: 'email' }));
      for (const acc of await store.accounts.list({ district: 'd' })) {
        expect(acc.identities.some((i) => i.type === 'email')).toBe(false);
        expect(acc.email).toBe('twin@example.org');
      }
      // A re-run with nothing changed keeps it that way and writes nothing.
      const seq = await store.changeFeed.lastSeq();
      await batch([
        { sourceId: 'a', data: student(1, 'Twin@Example.org') },
        { sourceId: 'b', data: student(2, 'twin@example.org') },
      ]);
      expect(await store.changeFeed.lastSeq()).toBe(seq);

      // One of them leaves: the other gets the email back as a login identity.
      await store.transaction((tx) =>
        deactivateForArchived(tx, {
          runId: null,
          district: 'd',
          source: 'clever',
          entity: 'students',
          ids: ['b'],
        }),
      );
      const remaining = (await store.accounts.byRecords('d', 'clever', ['a'])).get('a')!;
      const full = await store.accounts.get(remaining.id);
      expect(full!.identities).toContainEqual({ type: 'email', value: 'twin@example.org' });
    } finally {
      await store.close();
    }
  });
});
