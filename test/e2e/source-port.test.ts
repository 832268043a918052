import { expect, it } from 'vitest';
import type { Contact, Entity, Student } from '../../src/model/entities.js';
import type { PageOptions, Source, SourcePage, SourceStream } from '../../src/sources/source.js';
import { Store } from '../../src/store/store.js';
import { runSync } from '../../src/sync/run-sync.js';
import { describeEachDatabase } from '../helpers/databases.js';

/** One page of students as a test gives it; `cursor` makes the stream ordered (see SourcePage). */
interface TestPage {
  students: Array<{ id: string; data: Student }>;
  cursor?: string;
}

/** A page of records (with a cursor: a page of an ordered stream). */
const onePage = (records: SourcePage['records'], cursor: string | null = null): SourcePage => ({
  records,
  invalidIds: [],
  problems: [],
  cursor,
});

/** An unordered stream of one page that depends on the schools. */
function oneStream(name: string, entity: Entity, records: SourcePage['records']): SourceStream {
  return {
    name,
    entities: [entity],
    ordered: false,
    dependsOn: ['schools'],
    // eslint-disable-next-line @typescript-eslint/require-await
    async *pages() {
      yield onePage(records);
    },
  };
}

/** A source through the port: district dist-1 with one school (sch-1), then the given streams. */
function portSource(streams: SourceStream[]): Source {
  return {
    kind: 'clever',
    district: () => Promise.resolve({ sourceDistrictId: 'dist-1', data: { name: 'Port District' } }),
    streams: (): SourceStream[] => [
      {
        ...oneStream('schools', 'schools', [
          { entity: 'schools', sourceId: 'sch-1', data: { name: 'One School' } },
        ]),
        dependsOn: [],
      },
      ...streams,
    ],
    stats: () => ({ requests: 0, retries: 0 }),
    close: () => Promise.resolve(),
  };
}

/** A minimal source through the port: one school and pages of students, given in the test. */
function staticSource(
  pages: TestPage[] | Array<{ id: string; data: Student }>,
  opts: { failAfterPages?: number } = {},
): Source {
  const studentPages: TestPage[] =
    pages.length > 0 && 'students' in pages[0]! ? (pages as TestPage[]) : [{ students: pages as never }];
  const ordered = studentPages.every((p) => p.cursor !== undefined);
  return portSource([
    {
      name: 'students',
      entities: ['students'],
      ordered,
      dependsOn: ['schools'],
      // eslint-disable-next-line @typescript-eslint/require-await
      async *pages() {
        for (const [i, p] of studentPages.entries()) {
          if (i === opts.failAfterPages) throw new Error('the source went away');
          yield onePage(
            p.students.map((s) => ({ entity: 'students' as const, sourceId: s.id, data: s.data })),
            p.cursor ?? null,
          );
        }
      },
    },
  ]);
}

const student = (sis: string, first: string, email?: string): Student => ({
  name: { first, last: 'Port' },
  schoolId: 'sch-1',
  schoolIds: ['sch-1'],
  grade: '03',
  sisId: sis,
  ...(email ? { email } : {}),
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

  it('tells each stream whether it will write every record: only while none of its entity is stored', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    const asked: Array<[string, boolean | undefined]> = [];
    const source = staticSource([{ id: 'u1', data: student('S1', 'Ann') }]);
    const streams = source.streams.bind(source);
    source.streams = () =>
      streams().map((s) => ({
        ...s,
        pages: (opts?: PageOptions) => {
          asked.push([s.name, opts?.forWriting]);
          return s.pages(opts);
        },
      }));
    try {
      expect((await runSync({ store, source })).status).toBe('succeeded');
      expect(asked).toEqual([
        ['schools', true],
        ['students', true],
      ]);
      asked.length = 0;
      expect((await runSync({ store, source })).status).toBe('succeeded');
      expect(asked).toEqual([
        ['schools', false],
        ['students', false],
      ]);
    } finally {
      await store.close();
    }
  });

  it('on a first sync, a key or email repeated on a later page is still found', async () => {
    // The first sync of an empty district does not look up keys it has not written this run (see
    // RunIdentities); the ones it has written must still be looked up, across pages.
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const report = await runSync({
        store,
        source: staticSource([
          { students: [{ id: 'u1', data: student('S1', 'Ann', 'ann@port.example') }], cursor: 'u1' },
          {
            students: [
              { id: 'u2', data: student('S1', 'Bea') }, // the sis_id of u1: a conflict
              { id: 'u3', data: student('S3', 'Cy', 'ann@port.example') }, // u1's email: shared
            ],
            cursor: 'u3',
          },
        ]),
      });
      expect(report.status).toBe('succeeded');
      expect(report.accounts).toMatchObject({ provisioned: 2, conflicts: 1 });
      expect(report.problems).toContainEqual(
        expect.objectContaining({ recordId: 'u2', field: 'sis_id', severity: 'error' }),
      );
      const accounts = await store.accounts.list({ district: 'dist-1', kind: 'student' });
      expect(accounts.map((a) => a.recordSourceId).sort()).toEqual(['u1', 'u3']);
      // A shared email is nobody's login identity, also when the two holders came on different pages.
      for (const a of accounts) {
        expect(a.email).toBe('ann@port.example');
        expect(a.identities.some((i) => i.type === 'email')).toBe(false);
      }
    } finally {
      await store.close();
    }
  });

  it('a student and a staff member first seen at once with one email: it is the login identity of neither', async () => {
    // Students and staff are separate streams; on PostgreSQL their batches commit side by side.
    const email = 'shared@port.example';
    const source = portSource([
      oneStream('students', 'students', [
        { entity: 'students', sourceId: 'st-1', data: student('S1', 'Ann', email) },
      ]),
      oneStream('staff', 'staff', [
        {
          entity: 'staff',
          sourceId: 'sf-1',
          data: { name: { first: 'Ann', last: 'Port' }, roles: ['teacher'], schoolIds: ['sch-1'], email },
        },
      ]),
    ]);
    for (let round = 0; round < 3; round++) {
      const store = await Store.open({ location: await dbs.fresh() });
      try {
        const report = await runSync({ store, source });
        expect(report.status).toBe('succeeded');
        const accounts = [
          ...(await store.accounts.list({ district: 'dist-1', kind: 'student' })),
          ...(await store.accounts.list({ district: 'dist-1', kind: 'staff' })),
        ];
        expect(accounts).toHaveLength(2);
        for (const a of accounts) {
          expect(a.email).toBe(email);
          expect(a.identities.filter((i) => i.type === 'email')).toEqual([]);
        }
      } finally {
        await store.close();
      }
    }
  });

  it('a contact whose students this run finds absent is out of scope, and its archive waits for theirs', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    const contact = (studentId: string): Contact => ({
      name: { first: 'Pat', last: 'Port' },
      relationships: [{ studentId, relationship: 'Parent' }],
    });
    const source = (students: Array<{ id: string; data: Student }>) =>
      portSource([
        {
          name: 'students',
          entities: ['students'],
          ordered: true,
          dependsOn: ['schools'],
          // eslint-disable-next-line @typescript-eslint/require-await
          async *pages() {
            yield onePage(
              students.map((s) => ({ entity: 'students' as const, sourceId: s.id, data: s.data })),
              'u9',
            );
          },
        },
        {
          ...oneStream('contacts', 'contacts', [
            { entity: 'contacts', sourceId: 'c1', data: contact('u1') },
            { entity: 'contacts', sourceId: 'c2', data: contact('u2') },
          ]),
          dependsOn: ['students'],
        },
      ]);
    try {
      const ann = { id: 'u1', data: student('S1', 'Ann') };
      const bo = { id: 'u2', data: student('S2', 'Bo') };
      const first = await runSync({ store, source: source([ann, bo]) });
      expect(first.counts.contacts).toMatchObject({ created: 2, skipped: 0 });
      // u2 is no longer sent: it is marked absent while the students are read, so c2 (still sent)
      // belongs to no student in scope, and goes with it.
      const second = await runSync({ store, source: source([ann]) });
      expect(second.status).toBe('succeeded');
      expect(second.counts.students).toMatchObject({ unchanged: 1, archived: 1 });
      expect(second.counts.contacts).toMatchObject({ unchanged: 1, skipped: 1, archived: 1 });
      const scope = { district: 'dist-1', source: 'clever' as const };
      expect((await store.records.get(scope, 'contacts', 'c2'))?.archivedAt).not.toBeNull();
      expect((await store.records.get(scope, 'contacts', 'c1'))?.archivedAt).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('an ordered page that strays outside its range is reconciled exactly and archives nothing', async () => {
    const store = await Store.open({ location: await dbs.fresh() });
    try {
      const a = { id: 'u1', data: student('S1', 'Ann') };
      const b = { id: 'u2', data: student('S2', 'Bo') };
      const c = { id: 'u3', data: student('S3', 'Cy') };
      const first = await runSync({
        store,
        source: staticSource([
          { students: [a, b], cursor: 'u2' },
          { students: [c], cursor: 'u3' },
        ]),
      });
      expect(first.counts.students).toMatchObject({ created: 3 });
      // The same three records, but u3 comes on the first page, outside that page's range (…, u1],
      // and u1 comes on the last page, after its range was walked.
      const second = await runSync({
        store,
        source: staticSource([
          { students: [c], cursor: 'u1' },
          { students: [b], cursor: 'u2' },
          { students: [a], cursor: 'u3' },
        ]),
      });
      expect(second.status).toBe('succeeded');
      expect(second.counts.students).toEqual({
        created: 0,
        updated: 0,
        unchanged: 3,
        archived: 0,
        restored: 0,
        skipped: 0,
        rekeyed: 0,
      });
      expect(await store.records.count({ district: 'dist-1' }, 'students')).toBe(3);
      expect(second.accounts).toMatchObject({ provisioned: 0, deactivated: 0 });
    } finally {
      await store.close();
    }
  });

  it('a stream that fails with pages still committing fails the run, and the next run completes it', async () => {
    const pages: TestPage[] = Array.from({ length: 6 }, (_, p) => ({
      students: Array.from({ length: 50 }, (_, i) => {
        const n = p * 50 + i;
        const id = `u${String(n).padStart(4, '0')}`;
        return { id, data: student(`S${n}`, `N${n}`, `n${n}@port.example`) };
      }),
      cursor: `u${String(p * 50 + 49).padStart(4, '0')}`,
    }));
    const store = await Store.open({ location: await dbs.fresh() });
    const clean = await Store.open({ location: await dbs.fresh() });
    try {
      const failed = await runSync({ store, source: staticSource(pages, { failAfterPages: 4 }) });
      expect(failed.status).toBe('failed');
      expect(failed.reason).toMatch(/the source went away/);
      const finished = await runSync({ store, source: staticSource(pages) });
      expect(finished.status).toBe('succeeded');
      const reference = await runSync({ store: clean, source: staticSource(pages) });
      expect(reference.accounts.provisioned).toBe(300);
      const view = async (s: Store) =>
        (await s.accounts.list({ district: 'dist-1', kind: 'student', limit: 1000 }))
          .map((a) => [a.recordSourceId, a.status, a.email, a.identities.map((i) => i.type).join()].join('|'))
          .sort();
      expect(await view(store)).toEqual(await view(clean));
      expect(await store.records.count({ district: 'dist-1' }, 'students')).toBe(300);
    } finally {
      await store.close();
      await clean.close();
    }
  });
});
