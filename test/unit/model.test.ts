import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, upsertKind } from '../../src/model/hash.js';
import { parseGrade, toCsvGrade, GRADES } from '../../src/model/grade.js';
import { districtConfigSchema } from '../../src/model/district-config.js';
import { accountStateHash, sortIdentities, withIdentity } from '../../src/model/account.js';
import type { IdentityType } from '../../src/model/account.js';
import type { StaffRole } from '../../src/model/entities.js';
import { identityTokens, parseIdentityTokens } from '../../src/store/queries/account-row.js';
import { deriveAccount } from '../../src/accounts/derive.js';

describe('grades', () => {
  it.each([
    ['Kindergarten', 'KG'],
    ['K', 'KG'],
    ['kg', 'KG'],
    ['0', 'KG'],
    ['00', 'KG'],
    ['PreKindergarten', 'PK'],
    ['Pre-K', 'PK'],
    ['PK', 'PK'],
    ['TransitionalKindergarten', 'TK'],
    ['InfantToddler', 'IT'],
    ['Preschool', 'PR'],
    ['1', '01'],
    ['9', '09'],
    ['09', '09'],
    ['9.0', '09'],
    ['12', '12'],
    ['13', '13'],
    ['PostGraduate', 'PS'],
    ['Ungraded', 'UG'],
    ['Other', 'Other'],
  ])('maps %s to %s', (input, expected) => {
    expect(parseGrade(input)).toBe(expected);
  });

  it('tells missing from invalid', () => {
    expect(parseGrade('')).toBeUndefined();
    expect(parseGrade('  ')).toBeUndefined();
    expect(parseGrade(null)).toBeUndefined();
    expect(parseGrade('14')).toBeNull();
    expect(parseGrade('grade 3')).toBeNull();
    expect(parseGrade('1.5')).toBeNull();
  });

  it('round-trips every grade through the CSV spelling', () => {
    for (const g of GRADES) expect(parseGrade(toCsvGrade(g))).toBe(g);
  });

  it("maps every value of Clever's grade enum", () => {
    const clever = [
      'InfantToddler',
      'Preschool',
      'PreKindergarten',
      'TransitionalKindergarten',
      'Kindergarten',
      ...Array.from({ length: 13 }, (_, i) => String(i + 1)),
      'PostGraduate',
      'Ungraded',
      'Other',
    ];
    expect(clever.map((c) => parseGrade(c))).toEqual(GRADES);
  });
});

describe('content hash', () => {
  it('ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: undefined } })).toBe('{"a":{"d":[1,2]},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });

  it('classifies upserts', () => {
    expect(upsertKind(undefined, 'h')).toBe('created');
    expect(upsertKind({ hash: 'h', archived: false }, 'h')).toBe('unchanged');
    expect(upsertKind({ hash: 'h', archived: false }, 'x')).toBe('updated');
    expect(upsertKind({ hash: 'h', archived: true }, 'h')).toBe('restored');
  });
});

describe('district configuration', () => {
  it('has defaults for everything', () => {
    const c = districtConfigSchema.parse({});
    expect(c).toMatchObject({
      studentKey: 'sis_id',
      staffKey: 'sis_id',
      matchByEmail: true,
      contractedGrades: null,
    });
    expect(c.safetyValve).toEqual({ maxPercent: 5, minCount: 10 });
    expect(c.access).toEqual({ allTeachersCaseload: false, sourceControlsAccess: true });
  });

  it('rejects unknown keys and bad values', () => {
    expect(districtConfigSchema.safeParse({ studentKey: 'email' }).success).toBe(false);
    expect(districtConfigSchema.safeParse({ sudentKey: 'sis_id' }).success).toBe(false);
  });
});

describe('canonical JSON fast and slow paths agree', () => {
  it('gives the same text for sorted and unsorted objects, nested, with arrays and undefined members', () => {
    const sorted = { a: 1, b: { c: [1, { d: 'x', e: null }], f: 'g' }, h: [] };
    const unsorted = { h: [], b: { f: 'g', c: [1, { e: null, d: 'x' }] }, a: 1, z: undefined };
    expect(canonicalJson(unsorted)).toBe(canonicalJson(sorted));
    expect(canonicalJson(sorted)).toBe(JSON.stringify(sorted));
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson({ 'b"': 1, a: '\u2028' })).toBe(JSON.stringify({ a: '\u2028', 'b"': 1 }));
  });
});

describe('time-ordered ids', () => {
  it('are unique, ascending and look like version-7 UUIDs', async () => {
    const { createUuidv7 } = await import('../../src/model/ids.js');
    const uuidv7 = createUuidv7();
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(ids.filter((id) => !v7.test(id))).toEqual([]);
    // The first 48 bits are the time in ms (a millisecond's 4,096th id borrows the next one).
    const ms = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(ms(ids.at(-1)!)).toBeLessThanOrEqual(Date.now() + 20_000 / 4096 + 1);
    // The random bits differ from id to id, not only the time and sequence.
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
  });
});

describe('key set', () => {
  it('answers membership by hash and spreads realistic ids without collisions', async () => {
    const { KeySet, keyHash } = await import('../../src/shared/key-set.js');
    const set = new KeySet();
    const ids = Array.from({ length: 200_000 }, (_, i) => `5a${i.toString(16).padStart(22, '0')}`);
    for (const id of ids.slice(0, 100_000)) set.add(id);
    expect(ids.slice(0, 100_000).every((id) => set.has(id))).toBe(true);
    expect(ids.slice(100_000).filter((id) => set.has(id))).toEqual([]);
    set.add(ids[0]!); // already there: the count does not move
    expect(set.size).toBe(100_000);
    expect(new Set(ids.map(keyHash)).size).toBe(ids.length);
    expect(Number.isSafeInteger(keyHash('S1000'))).toBe(true);
  });
});

describe('id order', () => {
  it('compares ids in UTF-8 byte order, as the store sorts them', async () => {
    const { compareIds, inRange } = await import('../../src/sync/reconcile.js');
    const ids = ['a', 'ab', 'b', 'Z', '\u00e9', '\uffff', '\u{1f600}', '\ue000', '0', ''];
    const bytewise = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...ids].sort(compareIds)).toEqual(bytewise);
    // JavaScript's own order puts U+1F600 (a surrogate pair) before U+FFFF; UTF-8 does not.
    expect(['\uffff', '\u{1f600}'].sort()).toEqual(['\u{1f600}', '\uffff']);
    expect(inRange('b', 'a', 'c')).toBe(true);
    expect(inRange('c', 'a', 'c')).toBe(true);
    expect(inRange('a', 'a', 'c')).toBe(false);
    expect(inRange('\u{1f600}', '\uffff', null)).toBe(true);
    expect(inRange('anything', null, null)).toBe(true);
  });
});

describe('reconcile', () => {
  it('classifies a batch against stored hashes, once per record, marking the new ones', async () => {
    const { normalise, reconcile } = await import('../../src/sync/reconcile.js');
    const a = normalise<'terms'>('a', { name: 'A' });
    const b = normalise<'terms'>('b', { name: 'B' });
    const c = normalise<'terms'>('c', { name: 'C' });
    const d = normalise<'terms'>('d', { name: 'D' });
    const stored = new Map([
      ['b', { hash: b.hash, archived: false }],
      ['c', { hash: 'old', archived: false }],
      ['d', { hash: d.hash, archived: true }],
    ]);
    const out = reconcile(stored, [a, b, c, d, normalise<'terms'>('a', { name: 'A again' })]);
    expect(out.created.map((r) => [r.sourceId, r.isNew])).toEqual([['a', true]]);
    expect(out.unchanged).toEqual(['b']);
    expect(out.updated.map((r) => r.sourceId)).toEqual(['c']);
    expect(out.restored.map((r) => r.sourceId)).toEqual(['d']);
    expect(out.duplicates).toEqual(['a']);
    expect(out.records.map((r) => [r.sourceId, r.data.name, r.isNew === true])).toEqual([
      ['a', 'A', true],
      ['b', 'B', false],
      ['c', 'C', false],
      ['d', 'D', false],
    ]);
  });
});

describe('account identities', () => {
  const ids = (...pairs: Array<[IdentityType, string]>) => pairs.map(([type, value]) => ({ type, value }));

  it('sorts by type then value, copying only what is out of order', () => {
    const unsorted = ids(['sis_id', 'b'], ['clever_id', 'z'], ['sis_id', 'a'], ['email', 'e@x.org']);
    const before = JSON.stringify(unsorted);
    const sorted = sortIdentities(unsorted);
    expect(sorted).toEqual(ids(['clever_id', 'z'], ['email', 'e@x.org'], ['sis_id', 'a'], ['sis_id', 'b']));
    expect(JSON.stringify(unsorted)).toBe(before); // the input is left alone
    expect(sortIdentities(sorted)).toBe(sorted);
    const twice = ids(['sis_id', 'a'], ['sis_id', 'a']);
    expect(sortIdentities(twice)).toEqual(twice);
  });

  it('adds an identity in its sorted place, leaving the list it was given alone', () => {
    const list = ids(['clever_id', 'c'], ['sis_id', 'a'], ['state_id', '9']);
    const before = JSON.stringify(list);
    for (const [added, at] of [
      [ids(['email', 'e@x.org'])[0]!, 1],
      [ids(['clever_id', 'a'])[0]!, 0],
      [ids(['clever_id', 'd'])[0]!, 1],
      [ids(['teacher_number', '1'])[0]!, 3],
    ] as const) {
      const out = withIdentity(list, added);
      expect(out).toEqual(sortIdentities([...list, added]));
      expect(out[at]).toBe(added);
      expect(sortIdentities(out)).toBe(out);
    }
    expect(withIdentity([], ids(['email', 'e'])[0]!)).toEqual(ids(['email', 'e']));
    expect(JSON.stringify(list)).toBe(before);
  });

  it("derives every account kind's identities already in sorted order", () => {
    const config = districtConfigSchema.parse({});
    const all = { sisId: 'S1', stateId: 'ST1', studentNumber: 'N1', staffId: 'F1', teacherNumber: 'T1' };
    const name = { first: 'A', last: 'B' };
    for (const entity of ['students', 'staff', 'contacts'] as const) {
      for (const source of ['clever', 'csv'] as const) {
        const fields = { ...all, name, email: 'a@x.org', roles: ['teacher'], schoolIds: [] } as never;
        const d = deriveAccount(entity, 'rec-1', source, fields, config);
        expect(d.identities.length).toBeGreaterThan(source === 'clever' ? 1 : 0);
        expect(sortIdentities(d.identities)).toBe(d.identities);
      }
    }
  });

  it('hashes and stores an account the same whatever order its identities and roles come in', () => {
    const state = {
      recordSource: 'clever' as const,
      recordSourceId: 'r1',
      name: { first: 'Ada', last: 'L' },
      email: 'ada@x.org',
      title: null,
      roles: ['teacher', 'district_admin'] as StaffRole[],
      access: null,
      identities: ids(['state_id', '9'], ['clever_id', 'c1'], ['sis_id', 's:1']),
    };
    const reordered = {
      ...state,
      roles: ['district_admin', 'teacher'] as StaffRole[],
      identities: sortIdentities(state.identities),
    };
    expect(accountStateHash(reordered)).toBe(accountStateHash(state));
    expect(identityTokens(state.identities)).toBe('["clever_id:c1","sis_id:s:1","state_id:9"]');
    expect(parseIdentityTokens(identityTokens(state.identities))).toEqual(sortIdentities(state.identities));
  });
});
