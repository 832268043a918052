import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { canonicalJson, contentHash } from '../../src/model/hash.js';
import type { Student } from '../../src/model/entities.js';
import { PreparedRowsWriter } from '../../src/store/encoding/prepared-row.js';
import { Store } from '../../src/store/store.js';
import { openDatabase } from '../../src/store/db.js';
import { migrateToLatest, migrateUpTo } from '../../src/store/migrator.js';
import { accountWrite } from '../helpers/accounts.js';
import { oldAccountRow } from './fixtures.js';
import { describeEachDatabase } from '../helpers/databases.js';

describeEachDatabase('store: migrations', (dbs) => {
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
      '0008-csv-districts',
      '0009-rekeys',
      '0010-sign-in',
      '0011-api-keys',
      '0012-event-cursors',
      '0013-admins',
      '0014-account-lookups',
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

  it('carries identities into the account row when migrating a 0002 database (migration 0003)', async () => {
    const loc = await dbs.fresh();
    const database = openDatabase({ location: loc });
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of migration 0002's time
      const old = database.db as unknown as Kysely<any>;
      await migrateUpTo(database.db, database.migrations, '0002-accounts');
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
      expect((await migrateToLatest(database.db, database.migrations)).applied).toEqual([
        '0003-identity-column',
        '0004-section-members-index',
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
        '0008-csv-districts',
        '0009-rekeys',
        '0010-sign-in',
        '0011-api-keys',
        '0012-event-cursors',
        '0013-admins',
        '0014-account-lookups',
      ]);
      const tables = await sql<{ n: number }>`
        select count(*) as n from ${sql.raw(
          dbs.kind === 'postgres' ? 'pg_tables where tablename' : 'sqlite_master where name',
        )} = 'account_identities'`.execute(database.db);
      // PostgreSQL finds identities through a GIN index on the column; SQLite keeps the lookup table.
      expect(Number(tables.rows[0]!.n)).toBe(dbs.kind === 'sqlite' ? 1 : 0);
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
      const found = await migrated.identities.lookup('mig-d1', 'sis_id', ['a:b "c"']);
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
      await migrateUpTo(database.db, database.migrations, '0003-identity-column');
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
      expect((await migrateToLatest(database.db, database.migrations)).applied).toEqual([
        '0004-section-members-index',
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
        '0008-csv-districts',
        '0009-rekeys',
        '0010-sign-in',
        '0011-api-keys',
        '0012-event-cursors',
        '0013-admins',
        '0014-account-lookups',
      ]);
      const indexes =
        dbs.kind === 'postgres'
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
      expect(await migrated.links.enrollmentCounts(s4.district)).toEqual({ students: 2, teachers: 1 });
      // A section written after the migration replaces its members and leaves the other section's.
      const sec = { schoolId: 'sch', name: 'Math', teacherIds: ['t2'], studentIds: ['s2', 's3', 's2'] };
      await migrated.records.write(
        s4,
        'sections',
        [{ sourceId: 'sec1', data: sec, hash: contentHash(sec) }],
        null,
      );
      expect(await migrated.links.enrollmentCounts(s4.district)).toEqual({ students: 3, teachers: 1 });
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
      await migrateUpTo(database.db, database.migrations, '0004-section-members-index');
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
      expect((await migrateToLatest(database.db, database.migrations)).applied).toEqual([
        '0005-raw-item-hash',
        '0006-identity-path-ops',
        '0007-service',
        '0008-csv-districts',
        '0009-rekeys',
        '0010-sign-in',
        '0011-api-keys',
        '0012-event-cursors',
        '0013-admins',
        '0014-account-lookups',
      ]);
    } finally {
      await database.close();
    }
    const store = await Store.open({ location: loc });
    try {
      const datas = [student(1), student(2), student(3)];
      // One written as values, one as COPY lines (where the store loads those), one without a raw hash.
      const writer = new PreparedRowsWriter('lines');
      const json = canonicalJson(datas[1]!);
      writer.add('students', 's2', contentHash(datas[1]!), json, datas[1]!, 'r2', ['sch1', 'sch2']);
      const rows = writer.finish(Buffer.from(json), new Int32Array([Buffer.byteLength(json)]));
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
              fingerprint: { raw: 'r1', scope: '["sch1","sch2"]' },
            },
            {
              sourceId: 's2',
              data: datas[1]!,
              hash: contentHash(datas[1]!),
              isNew: true,
              // A source that prepares lines gives the same fingerprint (SQLite writes values).
              fingerprint: { raw: 'r2', scope: '["sch1","sch2"]' },
              prepared: { rows, index: 0 },
            },
            {
              sourceId: 's3',
              data: datas[2]!,
              hash: contentHash(datas[2]!),
              isNew: true,
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
        [
          {
            sourceId: 's1',
            data: changed,
            hash: contentHash(changed),
            fingerprint: { raw: 'r1b', scope: '["sch1"]' },
          },
        ],
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
      await migrateUpTo(database.db, database.migrations, '0005-raw-item-hash');
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
      if (dbs.kind === 'sqlite') {
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
      expect((await migrateToLatest(database.db, database.migrations)).applied).toEqual([
        '0006-identity-path-ops',
        '0007-service',
        '0008-csv-districts',
        '0009-rekeys',
        '0010-sign-in',
        '0011-api-keys',
        '0012-event-cursors',
        '0013-admins',
        '0014-account-lookups',
      ]);
      if (dbs.kind === 'postgres') {
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
      const ids = async (type: Parameters<Store['identities']['lookup']>[1], values: string[]) =>
        [...(await store.identities.lookup('mig-d6', type, values)).entries()]
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
