import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { canonicalJson, contentHash } from '../../src/model/hash.js';
import type { Contact, Entity, EntityData, Section, Student } from '../../src/model/entities.js';
import { indexValues, linkRows, writeLinkLines, writeRecordLine } from '../../src/model/record-index.js';
import { RowTextWriter } from '../../src/model/row-text.js';
import { emptyAccountCounts, emptyEntityCounts } from '../../src/model/run.js';
import type { RunCounts } from '../../src/model/run.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { openDatabase } from '../../src/store/db.js';
import { migrateToLatest, migrateUpTo } from '../../src/store/migrator.js';
import type { AccountWrite } from '../../src/store/queries/accounts.js';
import type { RecordScope, RecordWrite } from '../../src/store/queries/records.js';
import type { DB } from '../../src/store/schema.js';
import { accountWrite } from '../helpers/accounts.js';
import { describeEachDatabase } from '../helpers/databases.js';

const scope = { district: 'd1', source: 'clever' as const };

function student(i: number, overrides: Partial<Student> = {}): RecordWrite<'students'> {
  const data: Student = {
    name: { first: `First${i}`, last: `Last${i}` },
    schoolId: `school${i % 7}`,
    schoolIds: [`school${i % 7}`],
    grade: '05',
    sisId: `S${i}`,
    ...overrides,
  };
  return { sourceId: `id${String(i).padStart(8, '0')}`, data, hash: contentHash(data) };
}

function counts(): RunCounts {
  return {
    entities: {
      schools: emptyEntityCounts(),
      terms: emptyEntityCounts(),
      courses: emptyEntityCounts(),
      sections: emptyEntityCounts(),
      students: emptyEntityCounts(),
      staff: emptyEntityCounts(),
      contacts: emptyEntityCounts(),
    },
    accounts: emptyAccountCounts(),
  };
}

/** An `accounts` row in the columns of migration 0002's time (tests of later migrations add theirs). */
function oldAccountRow(id: string, columns: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    district_id: 'mig-d1',
    kind: 'student',
    status: 'active',
    origin: 'sync',
    record_source: 'clever',
    record_source_id: `rec-${id}`,
    name: JSON.stringify({ last: 'Old' }),
    email: null,
    roles: '',
    access: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    deactivated_at: null,
    title: null,
    state_hash: null,
    record_hash: null,
    derive_version: null,
    synced_hash: null,
    ...columns,
  };
}

/** A running Clever sync of district d1 with empty counts. */
function createRun(store: Store, id: string) {
  return store.runs.create({
    id,
    district: 'd1',
    source: 'clever',
    mode: 'sync',
    counts: counts(),
    stats: { requests: 0, retries: 0, pages: 0, timings: {} },
  });
}

describeEachDatabase('store contract', (dbs) => {
  let location: string;
  let store: Store;

  beforeAll(async () => {
    location = await dbs.fresh();
    store = await Store.open({ location });
  });
  afterAll(async () => {
    await store.close();
  });

  it('migrates a database from zero', () => {
    expect(store.migration?.applied).toEqual([
      '0001-init',
      '0002-accounts',
      '0003-identity-column',
      '0004-section-members-index',
      '0005-raw-item-hash',
      '0006-identity-path-ops',
      '0007-service',
    ]);
  });

  it('runs migrations idempotently on every open and on demand', async () => {
    const again = await Store.open({ location });
    try {
      expect(again.migration?.applied).toEqual([]);
      expect((await again.migrate()).applied).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('bulk-upserts 50,000 rows, then an identical batch is all unchanged and writes nothing', async () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => student(i));
    const first = await store.transaction((tx) => tx.records.upsert(scope, 'students', rows, 'run-1'));
    expect(first).toEqual({ created: 50_000, updated: 0, unchanged: 0, restored: 0 });
    expect(await store.records.count(scope, 'students')).toBe(50_000);

    const before = await store.records.get(scope, 'students', rows[123]!.sourceId);
    const second = await store.transaction((tx) => tx.records.upsert(scope, 'students', rows, 'run-2'));
    expect(second).toEqual({ created: 0, updated: 0, unchanged: 50_000, restored: 0 });
    // Every write stamps run_id; no row carries run-2, so the second upsert wrote nothing.
    const stamped = await store.records.list(scope, 'students', { limit: 100_000 });
    expect(stamped).toHaveLength(50_000);
    expect(stamped.filter((r) => r.runId !== 'run-1' || r.updatedAt !== before!.updatedAt)).toHaveLength(0);
    const after = await store.records.get(scope, 'students', rows[123]!.sourceId);
    expect(after).toEqual(before);
  });

  it('detects updates by content hash, and replaying them changes nothing more', async () => {
    const changed = Array.from({ length: 100 }, (_, i) => student(i * 10, { grade: '06' }));
    const res = await store.records.upsert(scope, 'students', changed, 'run-3');
    expect(res).toEqual({ created: 0, updated: 100, unchanged: 0, restored: 0 });
    const again = await store.records.upsert(scope, 'students', changed, 'run-4');
    expect(again).toEqual({ created: 0, updated: 0, unchanged: 100, restored: 0 });
    const rec = await store.records.get(scope, 'students', changed[5]!.sourceId);
    expect(rec?.data.grade).toBe('06');
  });

  it('archives and restores', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => student(40_000 + i).sourceId);
    expect(await store.records.archive(scope, 'students', ids, 'run-5')).toBe(10);
    expect(await store.records.archive(scope, 'students', ids, 'run-5')).toBe(0);
    expect(await store.records.count(scope, 'students')).toBe(49_990);
    expect(await store.records.count(scope, 'students', { archived: true })).toBe(10);
    const archived = await store.records.get(scope, 'students', ids[0]!);
    expect(archived?.archivedAt).not.toBeNull();

    const back = Array.from({ length: 10 }, (_, i) => student(40_000 + i));
    const res = await store.records.upsert(scope, 'students', back, 'run-6');
    expect(res).toEqual({ created: 0, updated: 0, unchanged: 0, restored: 10 });
    expect(await store.records.count(scope, 'students')).toBe(50_000);
    expect((await store.records.get(scope, 'students', ids[0]!))?.archivedAt).toBeNull();
  });

  it('looks records up by hostile source ids exactly (array parameters on PostgreSQL)', async () => {
    const arrScope = { district: 'd-array', source: 'clever' as const };
    const ids = ['h"1', 'h\\2', 'h,3', '{h4}', 'NULL', '', 'h 6', 'é7', 'h\\"8'];
    const rows = ids.map((id, i) => ({ ...student(700_000 + i), sourceId: id }));
    await store.records.upsert(arrScope, 'students', rows, 'run-array');
    const found = await store.records.states(arrScope, 'students', [...ids, 'h"', 'missing', 'null']);
    expect(new Set(found.keys())).toEqual(new Set(ids));
    expect(found.get('NULL')?.hash).toBe(rows[4]!.hash);
    // Plain ids take the literal's one-join path; these must not match a hostile one either.
    expect([...(await store.records.states(arrScope, 'students', ['h', '1', 'h4'])).keys()]).toEqual([]);
  });

  it('round-trips a hostile name untouched', async () => {
    const hostile = "Robert'); DROP TABLE students;--";
    const row = student(900_001, { name: { first: hostile, last: `"; DELETE FROM schools; --` } });
    await store.records.upsert(scope, 'students', [row], 'run-7');
    const got = await store.records.get(scope, 'students', row.sourceId);
    expect(got?.data.name.first).toBe(hostile);
    expect(got?.data.name.last).toBe(`"; DELETE FROM schools; --`);
    expect(await store.records.count(scope, 'students')).toBe(50_001);
    // Identifiers are bound parameters too.
    const byId = student(900_002, { sisId: "x' OR '1'='1" });
    await store.records.upsert(scope, 'students', [byId], 'run-7');
    expect(await store.records.findByIdentifier(scope, 'students', 'sis_id', "x' OR '1'='1")).toEqual([
      byId.sourceId,
    ]);
  });

  it('round-trips backslashes and control characters through the bulk insert (COPY on PostgreSQL)', async () => {
    // Short values too (ids, identifiers), which COPY writes byte by byte when they are plain ASCII.
    const tricky = [
      'back\\slash',
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      '\\N',
      'ends\\',
      'Zoë',
      '王',
      '👩🏽‍🎓',
      '\u0001',
    ];
    const copyScope = { district: 'd-copy', source: 'clever' as const };
    const rows = tricky.map((t, i) => {
      const data: Student = { name: { first: t, last: 'x' }, schoolId: 's', schoolIds: ['s'], sisId: t };
      return {
        sourceId: `${t}-${i}`,
        data,
        json: JSON.stringify(data),
        hash: contentHash(data),
        isNew: true,
      };
    });
    await store.transaction((tx) => tx.records.write(copyScope, 'students', rows, 'run-copy'));
    for (const r of rows) {
      const got = await store.records.get(copyScope, 'students', r.sourceId);
      expect(got?.sourceId).toBe(r.sourceId);
      expect(got?.data).toEqual(r.data);
      expect(await store.records.findByIdentifier(copyScope, 'students', 'sis_id', r.data.sisId!)).toEqual([
        r.sourceId,
      ]);
    }
  });

  it('writes records from the bytes, indexed values, links or COPY lines a source computed, without reading their data', async () => {
    const firsts = ['back\\slash', 'tab\there', 'new\nline', 'Zoë 王小明 👩🏽‍🎓', '\\N', 'plain'];
    const student = (i: number): Student => ({
      name: { first: firsts[i % firsts.length]!, last: 'ü' },
      schoolId: 's',
      schoolIds: ['s'],
      sisId: `P${i}`,
      ...(i % 2 === 0 ? { email: ` Mixed.Case${i}@Example.org ` } : {}),
    });
    const section = (i: number): Section => ({
      schoolId: 's',
      name: `Section ${firsts[i % firsts.length]!}`,
      teacherIds: ['t1', 't2', 't1'],
      studentIds: [`st${i}`, 'shared', `st${i}`],
    });
    const contact = (i: number): Contact => ({
      name: { first: firsts[i % firsts.length]!, last: 'c' },
      relationships: [
        { studentId: `st${i}`, relationship: 'Parent', type: 'guardian' },
        { studentId: 'shared' },
        { studentId: `st${i}`, relationship: 'Aunt\\Uncle' },
      ],
    });
    /**
     * What a decoding source hands over: the JSON as a view into one shared buffer, no data, and
     * either the indexed values and links (`values`) or the record's rows as lines of COPY text
     * (`lines`, see PageOptions.rowText), built the way the page decoder builds them: lines of all
     * records in one buffer, after a line that belongs to no record.
     */
    const passed = <E extends 'students' | 'sections' | 'contacts'>(
      entity: E,
      datas: EntityData[E][],
      form: 'values' | 'lines',
    ) => {
      const jsons = datas.map((d) => canonicalJson(d));
      const shared = Buffer.from(`padding${jsons.join('')}`);
      let at = 'padding'.length;
      const rowText = new RowTextWriter();
      const linkText = new RowTextWriter();
      rowText.value('not a record');
      rowText.endLine();
      linkText.value('not a link');
      linkText.endLine();
      const lines = datas.map((d, i) => {
        const first = linkText.lines;
        writeRecordLine(rowText, entity, `${entity}-${i}`, contentHash(d), jsons[i]!, d);
        writeLinkLines(linkText, entity, `${entity}-${i}`, d);
        return { row: rowText.lines - 1, links: [first, linkText.lines] as const };
      });
      const rows = rowText.finish();
      const linkRowsText = linkText.finish();
      return datas.map((d, i) => {
        const bytes = Buffer.byteLength(jsons[i]!);
        const view = shared.subarray(at, (at += bytes));
        const l = lines[i]!;
        return {
          sourceId: `${entity}-${i}`,
          hash: contentHash(d),
          json: jsons[i]!,
          isNew: true,
          jsonBytes: view,
          ...(form === 'values'
            ? { indexValues: indexValues(entity, d), links: linkRows(entity, d) }
            : {
                // SQLite stores values: with lines alone it would have to read the data.
                ...(store.caps.copy
                  ? {}
                  : { indexValues: indexValues(entity, d), links: linkRows(entity, d) }),
                rowLines: { bytes: rows.bytes, ends: rows.ends, first: l.row, last: l.row + 1 },
                linkLines: {
                  bytes: linkRowsText.bytes,
                  ends: linkRowsText.ends,
                  first: l.links[0],
                  last: l.links[1],
                },
              }),
          get data(): EntityData[E] {
            throw new Error('a write read the data of a record that came with everything it needs');
          },
        };
      });
    };
    const plain = <E extends 'students' | 'sections' | 'contacts'>(entity: E, datas: EntityData[E][]) =>
      datas.map((d, i) => ({ sourceId: `${entity}-${i}`, data: d, hash: contentHash(d), isNew: true }));
    const db = (store as unknown as { executor: Kysely<DB> }).executor;
    const links = async (district: string) => ({
      members: await db
        .selectFrom('section_members')
        .select(['section_id', 'role', 'user_id'])
        .where('district_id', '=', district)
        .orderBy('section_id')
        .orderBy('role')
        .orderBy('user_id')
        .execute(),
      contacts: await db
        .selectFrom('contact_students')
        .select(['contact_id', 'student_id', 'relationship', 'type'])
        .where('district_id', '=', district)
        .orderBy('contact_id')
        .orderBy('student_id')
        .execute(),
    });
    const students = Array.from({ length: 12 }, (_, i) => student(i));
    const sections = Array.from({ length: 5 }, (_, i) => section(i));
    const contacts = Array.from({ length: 7 }, (_, i) => contact(i));
    // In a transaction (COPY on PostgreSQL) and outside one (bound parameters).
    for (const [inTx, form] of [
      [true, 'values'],
      [false, 'values'],
      [true, 'lines'],
      [false, 'lines'],
    ] as const) {
      const given = { district: `d-pass-${inTx}-${form}`, source: 'clever' as const };
      const reference = { district: `d-plain-${inTx}-${form}`, source: 'clever' as const };
      const write = async (s: RecordScope, entity: Entity, rows: RecordWrite[]) =>
        inTx
          ? store.transaction((tx) => tx.records.write(s, entity, rows, 'run-pass'))
          : store.records.write(s, entity, rows, 'run-pass');
      await write(given, 'students', passed('students', students, form));
      await write(given, 'sections', passed('sections', sections, form));
      await write(given, 'contacts', passed('contacts', contacts, form));
      await write(reference, 'students', plain('students', students));
      await write(reference, 'sections', plain('sections', sections));
      await write(reference, 'contacts', plain('contacts', contacts));
      for (const [i, d] of students.entries()) {
        const got = await store.records.get(given, 'students', `students-${i}`);
        expect(got?.data).toEqual(d);
        expect(got?.hash).toBe(contentHash(d));
        expect(await store.records.findByIdentifier(given, 'students', 'sis_id', `P${i}`)).toEqual([
          `students-${i}`,
        ]);
      }
      expect(
        await store.records.findByIdentifier(given, 'students', 'email', 'mixed.case4@example.org'),
      ).toEqual(['students-4']);
      for (const [i, d] of contacts.entries())
        expect((await store.records.get(given, 'contacts', `contacts-${i}`))?.data).toEqual(d);
      const got = await links(given.district);
      expect(got).toEqual(await links(reference.district));
      expect(got.members).toHaveLength(5 * 4);
      expect(got.contacts).toHaveLength(7 * 2);
      expect(got.contacts[0]).toEqual({
        contact_id: 'contacts-0',
        student_id: 'shared',
        relationship: null,
        type: null,
      });
      expect(got.contacts[1]).toMatchObject({ student_id: 'st0', relationship: 'Aunt\\Uncle', type: null });
    }
  });

  it("round-trips multi-byte text across the bulk insert's ~1 MB pieces, and a value larger than one", async () => {
    const bigScope = { district: 'd-big', source: 'clever' as const };
    const words = ['Zoë', '王小明', '👩🏽‍🎓', 'tab\tand\\', 'Ǆemal'];
    const rows = Array.from({ length: 3000 }, (_, i) => {
      // About 1.3 KB of JSON each (4 MB in all), so rows and characters straddle piece boundaries;
      // one name alone is ~1.5 MB.
      const first = i === 1234 ? '🎓'.repeat(400_000) : `${words[i % words.length]!.repeat(60)}${i}`;
      const data: Student = { name: { first, last: 'ü' }, schoolId: 's', schoolIds: ['s'], sisId: `B${i}` };
      return {
        sourceId: `big-${String(i).padStart(5, '0')}`,
        data,
        json: JSON.stringify(data),
        hash: contentHash(data),
        isNew: true,
      };
    });
    await store.transaction((tx) => tx.records.write(bigScope, 'students', rows, 'run-big'));
    for (const i of [0, 1, 777, 1233, 1234, 1235, 2999]) {
      const got = await store.records.get(bigScope, 'students', rows[i]!.sourceId);
      expect(got?.data).toEqual(rows[i]!.data);
    }
    expect((await store.records.upsert(bigScope, 'students', rows, 'run-big-2')).unchanged).toBe(rows.length);
  });

  it('round-trips unicode names', async () => {
    const names = [
      'Zoë',
      'José Ñúñez',
      'Nguyễn Thị Minh Khai',
      '王小明',
      'محمد',
      '👩🏽‍🎓 Ada',
      'e\u0301clair',
      'Ǆemal',
    ];
    const rows = names.map((n, i) => student(910_000 + i, { name: { first: n, last: n.toUpperCase() } }));
    await store.records.upsert(scope, 'students', rows, 'run-8');
    for (const [i, n] of names.entries()) {
      const got = await store.records.get(scope, 'students', rows[i]!.sourceId);
      expect(got?.data.name.first).toBe(n);
      expect(got?.data.name.last).toBe(n.toUpperCase());
    }
    const again = await store.records.upsert(scope, 'students', rows, 'run-9');
    expect(again.unchanged).toBe(names.length);
  });

  it('lists active ids in a cursor range in bytewise order', async () => {
    const s2 = { district: 'd-range', source: 'clever' as const };
    const ids = [
      '5a0000000000000000000001',
      '5a000000000000000000000a',
      '5b0000000000000000000000',
      '5a00000000000000000000ff',
    ];
    await store.records.upsert(
      s2,
      'terms',
      ids.map((id) => ({ sourceId: id, data: { name: id }, hash: contentHash({ name: id }) })),
      null,
    );
    expect(await store.records.activeIdsInRange(s2, 'terms', null, null)).toEqual([...ids].sort());
    expect(
      await store.records.activeIdsInRange(
        s2,
        'terms',
        '5a0000000000000000000001',
        '5a00000000000000000000ff',
      ),
    ).toEqual(['5a000000000000000000000a', '5a00000000000000000000ff']);
    // Upper-case letters sort before lower-case bytewise; PostgreSQL must not use locale order.
    await store.records.upsert(s2, 'terms', [{ sourceId: 'Z', data: {}, hash: contentHash({}) }], null);
    await store.records.upsert(s2, 'terms', [{ sourceId: 'a', data: {}, hash: contentHash({}) }], null);
    const all = await store.records.activeIdsInRange(s2, 'terms', null, null);
    expect(all.indexOf('Z')).toBeLessThan(all.indexOf('5b0000000000000000000000') + 10);
    expect(all).toEqual([...all].sort());
  });

  it('keeps section memberships in step with section writes and archives', async () => {
    const s3 = { district: 'd-sec', source: 'clever' as const };
    const sec = { schoolId: 'sch', name: 'Math', teacherIds: ['t1'], studentIds: ['s1', 's2', 's2'] };
    await store.records.upsert(
      s3,
      'sections',
      [{ sourceId: 'sec1', data: sec, hash: contentHash(sec) }],
      null,
    );
    expect(await store.records.enrollmentCounts('d-sec')).toEqual({ students: 2, teachers: 1 });
    const sec2 = { ...sec, studentIds: ['s3'] };
    await store.records.upsert(
      s3,
      'sections',
      [{ sourceId: 'sec1', data: sec2, hash: contentHash(sec2) }],
      null,
    );
    expect(await store.records.enrollmentCounts('d-sec')).toEqual({ students: 1, teachers: 1 });
    await store.records.archive(s3, 'sections', ['sec1'], null);
    expect(await store.records.enrollmentCounts('d-sec')).toEqual({ students: 0, teachers: 0 });
  });

  it('knows the connection of its own transactions where COPY is used', async () => {
    const database = (
      store as unknown as { database: { transactionClient(): { processID?: number } | null } }
    ).database;
    expect(database.transactionClient()).toBeNull();
    const seen = await store.transaction(async (tx) => {
      const client = database.transactionClient();
      if (!store.caps.copy) return { client, pid: null };
      const { sql } = await import('kysely');
      const r = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
        (tx as unknown as { executor: never }).executor,
      );
      return { client, pid: r.rows[0]!.pid };
    });
    if (store.caps.copy) expect(seen.client?.processID).toBe(seen.pid);
    else expect(seen.client).toBeNull();
  });

  it('rolls back a failed transaction completely', async () => {
    const before = await store.records.count(scope, 'students');
    await expect(
      store.transaction(async (tx) => {
        await tx.records.upsert(scope, 'students', [student(990_000)], 'run-x');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.records.count(scope, 'students')).toBe(before);
  });

  it('stores runs with counts, problems and pending archives', async () => {
    const run = await createRun(store, 'run-a');
    expect(run.status).toBe('running');
    await store.runs.addProblems('run-a', [
      { severity: 'error', entity: 'students', recordId: 'abc', field: 'grade', reason: 'not a grade: "14"' },
      {
        severity: 'warning',
        entity: 'students.csv',
        recordId: 'line 3',
        field: 'favourite_color',
        reason: 'unknown column',
      },
    ]);
    await store.runs.addPendingArchives('run-a', 'students', ['x1', 'x2', 'x2'], 'clever');
    expect(await store.runs.pendingArchiveCounts('run-a')).toEqual({ students: 2 });
    const c = counts();
    c.entities.students.created = 5;
    await store.runs.finish('run-a', 'held', {
      counts: c,
      stats: { requests: 3, retries: 1, pages: 2, timings: {} },
      reason: 'too many',
    });
    const got = await store.runs.get('run-a');
    expect(got).toMatchObject({ status: 'held', reason: 'too many', problemCount: 2 });
    expect(got?.counts.entities.students.created).toBe(5);
    expect(await store.runs.problems('run-a')).toHaveLength(2);
    expect((await store.runs.list({ district: 'd1' }))[0]?.id).toBe('run-a');
  });

  it('numbers the problems of concurrent transactions of one run without collisions', async () => {
    await createRun(store, 'run-p');
    const problem = (recordId: string) => ({
      severity: 'warning' as const,
      entity: 'students',
      recordId,
      field: null,
      reason: 'test',
    });
    // Two batches of two streams, their transactions open at the same time (PostgreSQL runs them on
    // two connections; SQLite one after the other).
    let firstWrote!: () => void;
    const wrote = new Promise<void>((resolve) => (firstWrote = resolve));
    await Promise.all([
      store.transaction(async (tx) => {
        await tx.runs.addProblems('run-p', [problem('a1'), problem('a2')]);
        firstWrote();
        await new Promise((r) => setTimeout(r, 100));
      }),
      (async () => {
        await wrote;
        await store.transaction((tx) => tx.runs.addProblems('run-p', [problem('b1')]));
      })(),
    ]);
    expect((await store.runs.get('run-p'))?.problemCount).toBe(3);
    expect((await store.runs.problems('run-p')).map((p) => p.recordId)).toEqual(['a1', 'a2', 'b1']);
  });

  it('saves checkpoints and takes, refuses and takes over district locks', async () => {
    await store.checkpoints.save({
      district: 'd1',
      source: 'clever',
      stream: 'users',
      runId: 'r',
      cursor: 'abc',
      pages: 3,
      records: 300,
      complete: false,
    });
    await store.checkpoints.save({
      district: 'd1',
      source: 'clever',
      stream: 'users',
      runId: 'r',
      cursor: 'abd',
      pages: 4,
      records: 400,
      complete: true,
    });
    expect(await store.checkpoints.list('d1')).toMatchObject([
      { stream: 'users', cursor: 'abd', pages: 4, complete: true },
    ]);

    expect(await store.locks.acquire('d1', 'run-1', 'host:1', 60_000)).toBe(true);
    expect(await store.locks.acquire('d1', 'run-2', 'host:2', 60_000)).toBe(false);
    // A lock not refreshed for longer than the stale limit belongs to a dead process.
    expect(await store.locks.acquire('d1', 'run-2', 'host:2', -1)).toBe(true);
    await store.locks.release('d1', 'run-2');
    expect(await store.locks.holder('d1')).toBeUndefined();
  });

  it('keeps district configuration and stores tokens encrypted', async () => {
    const d = await store.districts.ensure('dist-1', 'Springfield');
    expect(d.config.studentKey).toBe('sis_id');
    await store.districts.setConfig('dist-1', { ...d.config, studentKey: 'student_number' });
    expect((await store.districts.get('dist-1'))?.config.studentKey).toBe('student_number');
    const box = new SecretBox(Buffer.alloc(32, 7));
    await store.districts.setToken('dist-1', 'secret-token-123', box);
    expect(await store.districts.getToken('dist-1', box)).toBe('secret-token-123');
    const other = new SecretBox(Buffer.alloc(32, 8));
    await expect(store.districts.getToken('dist-1', other)).rejects.toThrow(/secretKey/);
  });

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
    const ids = async (type: Parameters<Store['accounts']['byIdentity']>[1], values: string[]) =>
      [...(await store.accounts.byIdentity('look-d1', type, values)).entries()].map(
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

  it('carries identities into the account row when migrating a 0002 database (migration 0003)', async () => {
    const loc = await dbs.fresh();
    const database = openDatabase({ location: loc });
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of migration 0002's time
      const old = database.db as unknown as Kysely<any>;
      await migrateUpTo(database.db, database.caps, '0002-accounts');
      const row = (id: string) =>
        oldAccountRow(id, { kind: 'staff', email: 'old@example.org', roles: 'teacher' });
      await old
        .insertInto('accounts')
        .values([row('m1'), row('m2')])
        .execute();
      await old
        .insertInto('account_identities')
        .values(
          [
            ['teacher_number', 'T 7'],
            ['clever_id', 'c-m1'],
            ['email', 'old@example.org'],
            ['sis_id', 'a:b "c"'],
          ].map(([type, value]) => ({ account_id: 'm1', district_id: 'mig-d1', type, value })),
        )
        .execute();
      expect((await migrateToLatest(database.db, database.caps)).applied).toEqual([
        '0003-identity-column',
        '0004-section-members-index',
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
      ]);
      const tables = await sql<{ n: number }>`
        select count(*) as n from ${sql.raw(
          database.caps.dialect === 'postgres' ? 'pg_tables where tablename' : 'sqlite_master where name',
        )} = 'account_identities'`.execute(database.db);
      // PostgreSQL finds identities through a GIN index on the column; SQLite keeps the lookup table.
      expect(Number(tables.rows[0]!.n)).toBe(database.caps.identityIndex === 'table' ? 1 : 0);
    } finally {
      await database.close();
    }
    const migrated = await Store.open({ location: loc });
    try {
      expect((await migrated.accounts.get('m1'))?.identities).toEqual([
        { type: 'clever_id', value: 'c-m1' },
        { type: 'email', value: 'old@example.org' },
        { type: 'sis_id', value: 'a:b "c"' },
        { type: 'teacher_number', value: 'T 7' },
      ]);
      expect((await migrated.accounts.get('m2'))?.identities).toEqual([]);
      const found = await migrated.accounts.byIdentity('mig-d1', 'sis_id', ['a:b "c"']);
      expect([...found.values()].flat().map((a) => a.id)).toEqual(['m1']);
    } finally {
      await migrated.close();
    }
  });
  it('keeps section memberships when their primary key becomes an index on the section (migration 0004)', async () => {
    const loc = await dbs.fresh();
    const database = openDatabase({ location: loc });
    const s4 = { district: 'mig-d4', source: 'clever' as const };
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of migration 0003's time
      const old = database.db as unknown as Kysely<any>;
      await migrateUpTo(database.db, database.caps, '0003-identity-column');
      const member = (section: string, role: string, user: string) => ({
        district_id: s4.district,
        source: s4.source,
        section_id: section,
        role,
        user_id: user,
      });
      await old
        .insertInto('section_members')
        .values([
          member('sec1', 'teacher', 't1'),
          member('sec1', 'student', 's1'),
          member('sec2', 'student', 's1'),
        ])
        .execute();
      expect((await migrateToLatest(database.db, database.caps)).applied).toEqual([
        '0004-section-members-index',
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
      ]);
      const indexes =
        database.caps.dialect === 'postgres'
          ? await sql<{ name: string }>`
              select indexname as name from pg_indexes where tablename = 'section_members'`.execute(
              database.db,
            )
          : await sql<{ name: string }>`
              select name from sqlite_master where type = 'index' and tbl_name = 'section_members'`.execute(
              database.db,
            );
      expect(indexes.rows.map((r) => r.name)).toEqual(['section_members_section_idx']);
    } finally {
      await database.close();
    }
    const migrated = await Store.open({ location: loc });
    try {
      expect(await migrated.records.enrollmentCounts(s4.district)).toEqual({ students: 2, teachers: 1 });
      // A section written after the migration replaces its members and leaves the other section's.
      const sec = { schoolId: 'sch', name: 'Math', teacherIds: ['t2'], studentIds: ['s2', 's3', 's2'] };
      await migrated.records.write(
        s4,
        'sections',
        [{ sourceId: 'sec1', data: sec, hash: contentHash(sec) }],
        null,
      );
      expect(await migrated.records.enrollmentCounts(s4.district)).toEqual({ students: 3, teachers: 1 });
    } finally {
      await migrated.close();
    }
  });
  it('keeps raw item hashes and scopes with records, and adds their columns to older rows (migration 0005)', async () => {
    const loc = await dbs.fresh();
    const database = openDatabase({ location: loc });
    const s5 = { district: 'mig-d5', source: 'clever' as const };
    const student = (n: number): Student => ({
      name: { first: `G${n}`, last: `F${n}` },
      schoolId: 'sch1',
      schoolIds: ['sch1', 'sch2'],
    });
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of migration 0004's time
      const old = database.db as unknown as Kysely<any>;
      await migrateUpTo(database.db, database.caps, '0004-section-members-index');
      const d = student(0);
      await old
        .insertInto('students')
        .values({
          district_id: s5.district,
          source: s5.source,
          source_id: 'old',
          hash: contentHash(d),
          data: canonicalJson(d),
          created_at: 't',
          updated_at: 't',
          school_id: 'sch1',
        })
        .execute();
      expect((await migrateToLatest(database.db, database.caps)).applied).toEqual([
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
      ]);
    } finally {
      await database.close();
    }
    const store = await Store.open({ location: loc });
    try {
      const datas = [student(1), student(2), student(3)];
      // One written as values, one as COPY lines (where the store loads those), one without a raw hash.
      const rowText = new RowTextWriter();
      writeRecordLine(
        rowText,
        'students',
        's2',
        contentHash(datas[1]!),
        canonicalJson(datas[1]!),
        datas[1]!,
        'r2',
        '["sch1","sch2"]',
      );
      const rows = rowText.finish();
      await store.transaction(async (tx) => {
        await tx.records.write(
          s5,
          'students',
          [
            {
              sourceId: 's1',
              data: datas[0]!,
              hash: contentHash(datas[0]!),
              isNew: true,
              raw: 'r1',
              scope: '["sch1","sch2"]',
            },
            {
              sourceId: 's2',
              data: datas[1]!,
              hash: contentHash(datas[1]!),
              isNew: true,
              // A source that encodes lines gives the same values as fields (SQLite binds those).
              raw: 'r2',
              scope: '["sch1","sch2"]',
              rowLines: { bytes: rows.bytes, ends: rows.ends, first: 0, last: 1 },
            },
            {
              sourceId: 's3',
              data: datas[2]!,
              hash: contentHash(datas[2]!),
              isNew: true,
              raw: null,
              scope: '["x"]',
            },
          ],
          null,
        );
      });
      const known = await store.records.states(s5, 'students', ['old', 's1', 's2', 's3', 'nope']);
      expect(Object.fromEntries(known)).toEqual({
        old: { hash: contentHash(student(0)), archived: false, raw: null, scope: null },
        s1: { hash: contentHash(datas[0]!), archived: false, raw: 'r1', scope: '["sch1","sch2"]' },
        s2: { hash: contentHash(datas[1]!), archived: false, raw: 'r2', scope: '["sch1","sch2"]' },
        // No raw hash, no scope: a scope alone recognises nothing.
        s3: { hash: contentHash(datas[2]!), archived: false, raw: null, scope: null },
      });
      // An update takes the new raw hash; an archive keeps it but the state says archived.
      const changed: Student = { ...datas[0]!, name: { first: 'Changed' } };
      await store.records.write(
        s5,
        'students',
        [{ sourceId: 's1', data: changed, hash: contentHash(changed), raw: 'r1b', scope: '["sch1"]' }],
        null,
      );
      await store.records.archive(s5, 'students', ['s2'], null);
      const after = await store.records.states(s5, 'students', ['s1', 's2']);
      expect(after.get('s1')).toEqual({
        hash: contentHash(changed),
        archived: false,
        raw: 'r1b',
        scope: '["sch1"]',
      });
      expect(after.get('s2')?.archived).toBe(true);
      const data = await store.records.storedData(s5, 'students', ['s1', 'old', 'nope']);
      expect(Object.fromEntries(data)).toEqual({
        s1: { hash: contentHash(changed), data: changed },
        old: { hash: contentHash(student(0)), data: student(0) },
      });
    } finally {
      await store.close();
    }
  });

  it('finds identities stored before the identity index was rebuilt, and after (migration 0006)', async () => {
    const loc = await dbs.fresh();
    const database = openDatabase({ location: loc });
    const hostile = 'S:1 "quoted" \\ back\tslash ünï [x]';
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of migration 0005's time
      const old = database.db as unknown as Kysely<any>;
      await migrateUpTo(database.db, database.caps, '0005-raw-item-hash');
      const row = (id: string, district: string, tokens: string[]) =>
        oldAccountRow(id, { district_id: district, identities: JSON.stringify(tokens) });
      await old
        .insertInto('accounts')
        .values([
          row('p1', 'mig-d6', ['clever_id:c1', 'sis_id:S1']),
          row('p2', 'mig-d6', [`state_id:${hostile}`]),
          row('p3', 'mig-d6b', ['sis_id:S1']),
        ])
        .execute();
      if (database.caps.identityIndex === 'table') {
        await old
          .insertInto('account_identities')
          .values([
            { account_id: 'p1', district_id: 'mig-d6', type: 'clever_id', value: 'c1' },
            { account_id: 'p1', district_id: 'mig-d6', type: 'sis_id', value: 'S1' },
            { account_id: 'p2', district_id: 'mig-d6', type: 'state_id', value: hostile },
            { account_id: 'p3', district_id: 'mig-d6b', type: 'sis_id', value: 'S1' },
          ])
          .execute();
      }
      expect((await migrateToLatest(database.db, database.caps)).applied).toEqual([
        '0006-identity-path-ops',
        '0007-service',
      ]);
      if (database.caps.dialect === 'postgres') {
        const defs = await sql<{ def: string }>`
          select indexdef as def from pg_indexes where indexname = 'accounts_identities_idx'`.execute(
          database.db,
        );
        expect(defs.rows.map((r) => r.def)).toEqual([expect.stringContaining('jsonb_path_ops')]);
      }
    } finally {
      await database.close();
    }
    const store = await Store.open({ location: loc });
    try {
      const ids = async (type: Parameters<Store['accounts']['byIdentity']>[1], values: string[]) =>
        [...(await store.accounts.byIdentity('mig-d6', type, values)).entries()]
          .map(([v, list]) => `${v}=${list.map((a) => a.id).join(',')}`)
          .sort();
      // Rows of before the migration; another district's holder of the same value is not found.
      expect(await ids('sis_id', ['S1', 'S2'])).toEqual(['S1=p1']);
      expect(await ids('state_id', [hostile, 'S'])).toEqual([`${hostile}=p2`]);
      // Neither a value of another type, nor a token's prefix, nor a whole token given as a value.
      expect(await ids('student_number', ['S1'])).toEqual([]);
      expect(await ids('clever_id', ['c', 'clever_id:c1'])).toEqual([]);
      // A row written after it.
      await store.accounts.insert(
        accountWrite('p4', {
          district: 'mig-d6',
          name: { last: 'New' },
          identities: [{ type: 'sis_id', value: 'S1' }],
        }),
      );
      expect(await ids('sis_id', ['S1'])).toEqual(['S1=p1,p4']);
    } finally {
      await store.close();
    }
  });
});
