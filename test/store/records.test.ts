import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { Kysely } from 'kysely';
import { canonicalJson, contentHash } from '../../src/model/hash.js';
import type { Contact, Entity, EntityData, Section, Student } from '../../src/model/entities.js';
import { PreparedRowsWriter } from '../../src/store/encoding/prepared-row.js';
import type { RecordScope, RecordWrite } from '../../src/store/queries/records.js';
import type { DB } from '../../src/store/schema.js';
import { scope, student, withFreshStore } from './fixtures.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('store: records', (dbs) => {
  let store!: Store;
  withFreshStore(dbs, (opened) => (store = opened));

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

  it('writes records from the rows a source prepared, as values or COPY lines, without reading their data', async () => {
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
     * What a decoding source hands over: no data, and a prepared row (see PreparedRowsWriter) in one
     * of its forms, `values` (indexed values and links) or `lines` (COPY text, see
     * PageOptions.rowText), built the way the page decoder builds them: every record of a page in
     * one set of buffers, after a record that is not written. Lines are only loaded where the store
     * loads them (`copies`); elsewhere such rows are written as values, which read `data`.
     */
    const passed = <E extends 'students' | 'sections' | 'contacts'>(
      entity: E,
      datas: EntityData[E][],
      form: 'values' | 'lines',
      copies: boolean,
    ) => {
      const writer = new PreparedRowsWriter(form);
      const page = [
        { id: 'not a record', d: datas[0]! },
        ...datas.map((d, i) => ({ id: `${entity}-${i}`, d })),
      ];
      const ends: number[] = [];
      let at = 0;
      for (const { id, d } of page) {
        const json = canonicalJson(d);
        writer.add(entity, id, contentHash(d), json, d, null, null);
        ends.push((at += Buffer.byteLength(json)));
      }
      const rows = writer.finish(
        Buffer.from(page.map(({ d }) => canonicalJson(d)).join('')),
        new Int32Array(ends),
      );
      return datas.map((d, i) => ({
        sourceId: `${entity}-${i}`,
        hash: contentHash(d),
        json: canonicalJson(d),
        isNew: true,
        prepared: { rows, index: i + 1 },
        get data(): EntityData[E] {
          // Sections prepared as values leave their links to be read from data (see preparesLinks).
          if ((form === 'lines' && !copies) || (form === 'values' && entity === 'sections')) return d;
          throw new Error('a write read the data of a record that came with everything it needs');
        },
      }));
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
      const copies = inTx && dbs.kind === 'postgres';
      await write(given, 'students', passed('students', students, form, copies));
      await write(given, 'sections', passed('sections', sections, form, copies));
      await write(given, 'contacts', passed('contacts', contacts, form, copies));
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

  it('bulk-loads new rows on the connection of its own transaction (COPY on PostgreSQL): unseen outside until commit, gone on rollback', async () => {
    const fresh = [student(980_001), student(980_002)].map((r) => ({ ...r, isNew: true }));
    const ids = fresh.map((r) => r.sourceId);
    const outside = async () => (await store.records.states(scope, 'students', ids)).size;
    await expect(
      store.transaction(async (tx) => {
        await tx.records.write(scope, 'students', fresh, 'run-copy');
        expect((await tx.records.states(scope, 'students', ids)).size).toBe(2);
        // SQLite has one connection, held by the transaction: only PostgreSQL can look from outside.
        if (dbs.kind === 'postgres') expect(await outside()).toBe(0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await outside()).toBe(0);
    await store.transaction((tx) => tx.records.write(scope, 'students', fresh, 'run-copy'));
    expect(await outside()).toBe(2);
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
});
