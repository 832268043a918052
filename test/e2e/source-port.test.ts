import { expect, it } from 'vitest';
import type { Student } from '../../src/model/entities.js';
import type { Source, SourcePage, SourceStream } from '../../src/sources/source.js';
import { Store } from '../../src/store/store.js';
import { runSync } from '../../src/sync/run-sync.js';
import { describeEachDatabase } from '../helpers/databases.js';

/** A minimal source through the port: one school and a page of students, given in the test. */
function staticSource(students: Array<{ id: string; data: Student }>): Source {
  const stream = (
    name: string,
    entity: 'schools' | 'students',
    dependsOn: string[],
    page: SourcePage,
  ): SourceStream => ({
    name,
    entities: [entity],
    ordered: false,
    dependsOn,
    // eslint-disable-next-line @typescript-eslint/require-await
    async *pages() {
      yield page;
    },
  });
  return {
    kind: 'clever',
    district: () => Promise.resolve({ sourceDistrictId: 'dist-1', data: { name: 'Port District' } }),
    streams: () => [
      stream('schools', 'schools', [], {
        records: [{ entity: 'schools', sourceId: 'sch-1', data: { name: 'One School' } }],
        invalidIds: [],
        problems: [],
        cursor: null,
      }),
      stream('students', 'students', ['schools'], {
        records: students.map((s) => ({ entity: 'students' as const, sourceId: s.id, data: s.data })),
        invalidIds: [],
        problems: [],
        cursor: null,
      }),
    ],
    stats: () => ({ requests: 0, retries: 0 }),
    close: () => Promise.resolve(),
  };
}

const student = (sis: string, first: string): Student => ({
  name: { first, last: 'Port' },
  schoolId: 'sch-1',
  schoolIds: ['sch-1'],
  grade: '03',
  sisId: sis,
});

describeEachDatabase('the source port', (dbs) => {
  it('a record sent twice in one page is stored once, gets one account, and is reported', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const report = await runSync({
        store,
        source: staticSource([
          { id: 'u1', data: student('S1', 'Ann') },
          { id: 'u1', data: student('S1', 'Ann B.') },
          { id: 'u2', data: student('S2', 'Bo') },
        ]),
      });
      expect(report.status).toBe('succeeded');
      expect(report.counts.students).toMatchObject({ created: 2, skipped: 1 });
      expect(report.problems).toContainEqual(
        expect.objectContaining({
          recordId: 'u1',
          severity: 'warning',
          reason: expect.stringMatching(/sent twice/),
        }),
      );
      expect(report.accounts.provisioned).toBe(2);
      const accounts = await store.accounts.list({ district: 'dist-1', kind: 'student' });
      expect(accounts.map((a) => a.recordSourceId).sort()).toEqual(['u1', 'u2']);
      expect(
        (await store.records.get({ district: 'dist-1', source: 'clever' }, 'students', 'u1'))?.data.name
          .first,
      ).toBe('Ann');
    } finally {
      await store.close();
    }
  });
});
