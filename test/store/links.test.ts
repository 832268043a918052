import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { contentHash } from '../../src/model/hash.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { withFreshStore } from './fixtures.js';

describeEachDatabase('store: links', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

  it('keeps section memberships in step with section writes and archives', async () => {
    const s3 = { district: 'd-sec', source: 'clever' as const };
    const sec = { schoolId: 'sch', name: 'Math', teacherIds: ['t1'], studentIds: ['s1', 's2', 's2'] };
    await store.records.upsert(
      s3,
      'sections',
      [{ sourceId: 'sec1', data: sec, hash: contentHash(sec) }],
      null,
    );
    expect(await store.links.enrollmentCounts('d-sec')).toEqual({ students: 2, teachers: 1 });
    const sec2 = { ...sec, studentIds: ['s3'] };
    await store.records.upsert(
      s3,
      'sections',
      [{ sourceId: 'sec1', data: sec2, hash: contentHash(sec2) }],
      null,
    );
    expect(await store.links.enrollmentCounts('d-sec')).toEqual({ students: 1, teachers: 1 });
    await store.records.archive(s3, 'sections', ['sec1'], null);
    expect(await store.links.enrollmentCounts('d-sec')).toEqual({ students: 0, teachers: 0 });
  });
});
