import { describe, expect, it } from 'vitest';
import { applyDay } from '../../src/simulator/change-days.js';
import { DistrictLayout, apportion } from '../../src/simulator/district-layout.js';
import { DistrictModel } from '../../src/simulator/district-model.js';
import { EventLog } from '../../src/simulator/event-log.js';
import { COLL, IdCodec, makeKey } from '../../src/simulator/ids.js';
import { ArraySource, RangeSource, StrideSource, takePage } from '../../src/simulator/key-source.js';
import type { KeySource } from '../../src/simulator/key-source.js';
import { resolveOptions } from '../../src/simulator/options.js';
import { renderUser, renderUserJson } from '../../src/simulator/render.js';

function collect(it: Iterator<number>, max = 1e6): number[] {
  const out: number[] = [];
  for (let r = it.next(); !r.done && out.length < max; r = it.next()) out.push(r.value);
  return out;
}

describe('layout arithmetic', () => {
  it('contact blocks invert exactly for fractional contacts per student', () => {
    for (const cps of [0.001, 0.333, 0.5, 1, 1.5, 2.5, 3.7]) {
      const l = new DistrictLayout(resolveOptions({ students: 5000, contactsPerStudent: cps }).shape);
      const total = l.contactStart(5000);
      expect(Math.abs(total - 5000 * cps)).toBeLessThanOrEqual(1);
      for (let i = 0; i < 5000; i++) {
        for (let j = l.contactStart(i); j < l.contactStart(i + 1); j++) expect(l.contactOwner(j)).toBe(i);
      }
    }
  });

  it('blockOf is the inverse of blockStart, also with more blocks than students', () => {
    for (const [students, schools] of [
      [1_000, 6],
      [7, 6],
      [50, 20],
      [1, 3],
    ] as const) {
      const l = new DistrictLayout(resolveOptions({ students, schools }).shape);
      const g = l.baseGen;
      for (let b = 0; b < g.blocks; b++) {
        for (let i = l.blockStart(g, b); i < l.blockStart(g, b + 1); i++) expect(l.blockOf(g, i)).toBe(b);
      }
    }
  });

  it('apportion hands out exactly the total, at least one per eligible part when possible', () => {
    expect(apportion(10, [5, 0, 3, 2], [true, false, true, true])).toEqual([5, 0, 3, 2]);
    expect(apportion(2, [5, 1, 1], [true, true, true]).reduce((a, b) => a + b, 0)).toBe(2);
    const a = apportion(7, [100, 1, 1], [true, true, true]);
    expect(a.reduce((x, y) => x + y, 0)).toBe(7);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(1);
    expect(apportion(3, [0, 0], [true, true]).reduce((x, y) => x + y, 0)).toBe(3);
  });

  it('every school level serves each grade of its range; teachers and staff fill every school with students', () => {
    for (const schools of [1, 2, 3, 6, 13]) {
      const l = new DistrictLayout(resolveOptions({ students: 2_000, schools }).shape);
      for (let e = 0; e < l.chains; e++) {
        for (let g = 0; g <= 12; g++) {
          const s = l.schools[l.chainSchool(e, g)]!;
          expect(g).toBeGreaterThanOrEqual(s.low);
          expect(g).toBeLessThanOrEqual(s.high);
        }
      }
      for (const s of l.schools) if (s.baseStudents > 0) expect(s.teacherCount).toBeGreaterThan(0);
      expect(l.schools.reduce((n, s) => n + s.teacherCount, 0)).toBe(l.teachers);
      for (let t = 0; t < l.teachers; t++) {
        const s = l.schools[l.teacherSchool(t)]!;
        expect(t).toBeGreaterThanOrEqual(s.teacherStart);
        expect(t).toBeLessThan(s.teacherStart + s.teacherCount);
      }
    }
  });
});

describe('ids', () => {
  it('encode/decode round-trip and sort like keys', () => {
    const c = new IdCodec(0xbeef, 3);
    const keys = [
      makeKey(0, 0, 0),
      makeKey(0, 0, 255),
      makeKey(0, 4, 1),
      makeKey(1, 0, 0),
      makeKey(40, 2, 4_000_000_000),
    ];
    const ids = keys.map((k) => c.encode(COLL.user, k));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect([...ids].sort()).toEqual(ids);
    ids.forEach((id, n) => expect(c.decode(COLL.user, id)).toBe(keys[n]));
    expect(c.decode(COLL.section, ids[0]!)).toBeNull();
    expect(new IdCodec(0xbeef, 4).decode(COLL.user, ids[0]!)).toBeNull();
    expect(c.decode(COLL.user, 'not-an-id')).toBeNull();
  });
});

describe('key sources', () => {
  const brute = (keys: number[], src: KeySource): void => {
    for (const after of [-1, ...keys, ...keys.map((k) => k + 1), 1e9]) {
      expect(collect(src.asc(after))).toEqual(keys.filter((k) => k > after));
    }
    for (const before of [0, ...keys, ...keys.map((k) => k + 1), 1e9]) {
      expect(collect(src.desc(before))).toEqual(keys.filter((k) => k < before).reverse());
    }
  };

  it('RangeSource with dead stretches skipped agrees with a brute-force filter', () => {
    const dead = (i: number): boolean => Math.floor(i / 10) % 3 === 1;
    const src = new RangeSource(
      1000,
      5,
      95,
      (i) => i % 7 !== 3,
      (i) => (dead(i) ? (Math.floor(i / 10) + 1) * 10 : i),
      (i) => (dead(i) ? Math.floor(i / 10) * 10 - 1 : i),
    );
    const keys: number[] = [];
    for (let i = 5; i < 95; i++) if (!dead(i) && i % 7 !== 3) keys.push(1000 + i);
    brute(keys, src);
  });

  it('StrideSource and ArraySource agree with brute force; takePage reports both ends', () => {
    const keys: number[] = [];
    for (let i = 3; i < 200; i++) if (i % 40 === 1 && i !== 81) keys.push(500 + i);
    brute(keys, new StrideSource(500, 3, 200, 40, 1, (i) => i !== 81));
    brute([2, 3, 9, 40], new ArraySource([2, 3, 9, 40]));
    const src = new ArraySource([1, 2, 3, 4, 5, 6, 7]);
    expect(takePage(src, 3, null, null)).toEqual({ keys: [1, 2, 3], hasNext: true, hasPrev: false });
    expect(takePage(src, 3, 3, null)).toEqual({ keys: [4, 5, 6], hasNext: true, hasPrev: true });
    expect(takePage(src, 3, 5, null)).toEqual({ keys: [6, 7], hasNext: false, hasPrev: true });
    expect(takePage(src, 3, null, 5)).toEqual({ keys: [2, 3, 4], hasNext: true, hasPrev: true });
    expect(takePage(src, 3, null, 3)).toEqual({ keys: [1, 2], hasNext: true, hasPrev: false });
  });
});

describe('render paths', () => {
  it('the string emitter is byte-identical to JSON.stringify of the object renderer', () => {
    for (const quirks of [true, false]) {
      const o = resolveOptions({ students: 800, quirks, contactsPerStudent: 1.7 });
      const m = new DistrictModel(o.shape, 0, 'Lakeside');
      const log = new EventLog();
      for (const kind of ['normal', 'normal', 'rollover', 'normal'] as const) applyDay(m, kind, log);
      const keys: number[] = [];
      for (let i = 0; i < 900; i++) keys.push(makeKey(0, 0, i), makeKey(0, 4, i), makeKey(0, 1, i % 50));
      for (const cd of m.creationDays) keys.push(...cd.students, ...cd.contacts);
      for (const key of keys) {
        for (const v31 of [false, true]) {
          for (const asOf of [0, 2, 4]) {
            const obj = renderUser(m, key, asOf, v31);
            expect(renderUserJson(m, key, asOf, v31)).toBe(obj ? JSON.stringify(obj) : null);
          }
        }
      }
    }
  });
});
