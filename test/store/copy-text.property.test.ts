import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/model/hash.js';
import type { Student } from '../../src/model/entities.js';
import { copyChunks, lineChunks } from '../../src/store/encoding/copy-chunks.js';
import type { SqlValue } from '../../src/store/encoding/copy-chunks.js';
import { PreparedRowsWriter } from '../../src/store/encoding/prepared-row.js';
import { copyEscape, lineValues, RowTextWriter } from '../../src/store/encoding/row-text.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';

/**
 * The COPY text fast paths (encoding/copy-chunks.ts on the store's side, RowTextWriter on a
 * source's) against the plain reference path: each value through `copyEscape`, tabs between values,
 * a newline after each row, the whole as UTF-8. And, on both databases, records written through the
 * bulk writer (COPY on PostgreSQL) read back as the values that went in.
 */

/** One character of a value: anything, weighted towards what COPY text escapes or splits. */
const char = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('\\', '\t', '\n', '\r', 'N', '"', 'é', '王', '👩🏽‍🎓', '\u2028') },
  { weight: 3, arbitrary: fc.constantFrom('a', '0', '-', ' ') },
);
/** Short values (the byte-by-byte path) and some longer than it (the escaping path). */
const text = fc.oneof(
  fc.string({ unit: char, maxLength: 12 }),
  fc.string({ unit: char, minLength: 60, maxLength: 200 }),
);
const value: fc.Arbitrary<SqlValue> = fc.oneof(
  text,
  fc.constant(null),
  fc.integer(),
  // Text given as UTF-8 bytes (a source's JSON), at an offset inside a larger buffer.
  text.map((s) => {
    const b = Buffer.from(`xx${s}`, 'utf8');
    return new Uint8Array(b.buffer, b.byteOffset + 2, b.byteLength - 2);
  }),
);
const rows = fc.array(fc.array(value, { minLength: 1, maxLength: 6 }), { maxLength: 30 });

const asText = (v: SqlValue): string | number | null =>
  v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v;

/** The plain reference encoding of rows. */
function reference(input: ReadonlyArray<readonly SqlValue[]>): string {
  return input.map((r) => `${r.map((v) => copyEscape(asText(v))).join('\t')}\n`).join('');
}

const joined = (chunks: Iterable<Buffer>) => Buffer.concat([...chunks]).toString('utf8');

describe('COPY text: fast encoders against the plain reference', () => {
  it('copyChunks encodes rows of values exactly as the reference does', () => {
    fc.assert(
      fc.property(rows, (input) => {
        expect(joined(copyChunks(input))).toBe(reference(input));
      }),
      { numRuns: 500 },
    );
  });

  it('copyChunks splits rows larger than a ~1 MB piece without changing a byte', () => {
    const big = 'é'.repeat(600_000);
    const input: SqlValue[][] = [['a', big], [big, Buffer.from(big)], ['z']];
    expect(joined(copyChunks(input))).toBe(reference(input));
  });

  it('RowTextWriter lines equal the reference and decode back to the values (lineValues)', () => {
    const cell = fc.oneof(
      text.map((s) => ({ kind: 'value' as const, v: s })),
      fc.constant({ kind: 'value' as const, v: null }),
      text.map((s) => ({ kind: 'plain' as const, v: s })),
      // JSON text: what JSON.stringify makes of any string (no raw control characters).
      text.map((s) => ({ kind: 'json' as const, v: JSON.stringify(s) })),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { maxLength: 20 }), (input) => {
        const w = new RowTextWriter();
        for (const row of input) {
          for (const c of row) {
            if (c.kind === 'json') w.json(c.v);
            else if (c.kind === 'plain') w.plain(c.v);
            else w.value(c.v);
          }
          w.endLine();
        }
        const { bytes, ends } = w.finish();
        const values = input.map((row) => row.map((c) => c.v));
        expect(Buffer.from(bytes).toString('utf8')).toBe(reference(values));
        expect(lineValues({ bytes, ends, first: 0, last: input.length })).toEqual(values);
        // lineChunks puts the same leading values before each line.
        const lead: SqlValue[] = ['d\t1', null];
        expect(joined(lineChunks(lead, [{ bytes, ends, first: 0, last: input.length }]))).toBe(
          reference(values.map((r) => [...lead, ...r])),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describeEachDatabase('store: COPY text against plain inserts', (dbs) => {
  let store: Store;
  beforeAll(async () => {
    store = await Store.open({ location: await dbs.fresh() });
  });
  afterAll(async () => {
    await store.close();
  });

  it('records loaded as encoded lines or as values read back as the same data as plain single inserts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 8 }), async (names) => {
        run++;
        const students = names.map(([first, last], i) => {
          const data: Student = {
            name: { first, last },
            schoolId: 's1',
            schoolIds: ['s1'],
            grade: '05',
            sisId: `S${i}`,
          };
          return { sourceId: `p${run}-${i}`, data, hash: contentHash(data), json: JSON.stringify(data) };
        });
        const w = new PreparedRowsWriter('lines');
        const ends: number[] = [];
        let at = 0;
        for (const s of students) {
          w.add('students', s.sourceId, s.hash, s.json, s.data, null, null);
          ends.push((at += Buffer.byteLength(s.json)));
        }
        const rows = w.finish(Buffer.from(students.map((s) => s.json).join('')), new Int32Array(ends));
        const asLines = students.map((s, i) => ({ ...s, isNew: true, prepared: { rows, index: i } }));
        const asValues = students.map((s) => ({ ...s, sourceId: `${s.sourceId}-v`, isNew: true }));
        const scope = { district: 'copy', source: 'clever' as const };
        // Bulk paths inside a transaction (COPY on PostgreSQL); the plain path one upsert at a time outside.
        await store.transaction(async (tx) => {
          await tx.records.write(scope, 'students', asLines, null);
          await tx.records.write(scope, 'students', asValues, null);
        });
        for (const s of students)
          await store.records.write(scope, 'students', [{ ...s, sourceId: `${s.sourceId}-p` }], null);
        for (const s of students) {
          const plain = await store.records.get(scope, 'students', `${s.sourceId}-p`);
          expect(plain?.data).toEqual(s.data);
          expect((await store.records.get(scope, 'students', s.sourceId))?.data).toEqual(plain?.data);
          expect((await store.records.get(scope, 'students', `${s.sourceId}-v`))?.data).toEqual(plain?.data);
        }
      }),
      { numRuns: 25 },
    );
  });
});
