import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanListItems } from '../../src/sources/clever/decode/item-scan.js';

/**
 * The item scan (item-scan.ts) must find the same items, ids and next link as JSON.parse does,
 * whatever the text and the spacing, and refuse what is not a list body rather than guess. (How a
 * page is decoded with the scanned items skipped: test/sources/clever-resync-scan.test.ts.)
 */

const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', 'é', '\u0000', '\n'),
);
const text = fc.string({ unit, maxLength: 10 });
/** Any JSON value, strings full of structural characters and escapes. */
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(text, tie('v'), { maxKeys: 3 }),
  ),
})).v;
/** An item's `data`: maybe an id (a string or not), other members around it. */
const data = fc
  .record({
    before: fc.dictionary(text, value, { maxKeys: 2 }),
    id: fc.option(fc.oneof(text, fc.integer()), { nil: undefined }),
    after: fc.dictionary(text, value, { maxKeys: 2 }),
  })
  .map(({ before, id, after }) => {
    const d: Record<string, unknown> = { ...before };
    delete d.id;
    if (id !== undefined) d.id = id;
    for (const [k, v] of Object.entries(after)) if (k !== 'id') d[k] = v;
    return d;
  });
/** JSON with random whitespace between tokens: stringify with an indent, spaces swapped around. */
const spacing = fc.constantFrom<number | string>(0, 1, '\t', ' \n ');

function bodyOf(items: unknown[], next: string | null, space: number | string): Buffer {
  const links = [{ rel: 'self', uri: '/v3.0/x' }, ...(next === null ? [] : [{ rel: 'next', uri: next }])];
  return Buffer.from(
    JSON.stringify({ data: items.map((d) => ({ data: d, uri: '/u' })), links }, null, space),
  );
}

describe('the item scan', () => {
  it('finds the items, ids and next link JSON.parse finds, each item exactly its own bytes', () => {
    fc.assert(
      fc.property(
        fc.array(data, { maxLength: 6 }),
        fc.option(text, { nil: null }),
        spacing,
        (items, next, space) => {
          const bytes = bodyOf(items, next, space);
          const scan = scanListItems(bytes);
          expect(scan).not.toBeNull();
          const parsed = JSON.parse(bytes.toString('utf8')) as { data: Array<{ data: { id?: unknown } }> };
          expect(scan!.ids).toEqual(
            parsed.data.map((i) => (typeof i.data.id === 'string' ? i.data.id : null)),
          );
          expect(scan!.next).toBe(next);
          for (let i = 0; i < items.length; i++)
            expect(JSON.parse(bytes.toString('utf8', scan!.start[i], scan!.end[i]))).toEqual(parsed.data[i]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads escaped keys and ids, and takes the last of duplicate keys, as JSON.parse does', () => {
    const body = Buffer.from(
      '\ufeff{"links":[],"data":[{"data":{"id":"first","\\u0069d":"a\\"b\\u00e9"}},' +
        '{"data":{"id":"x","id":7}},{"data":"not an object"},{"data":{"id":"gone"},"data":{"id":"kept"}}],' +
        '"data":[{"data":{"id":"\\\\"}}]}',
    );
    // The second `data` list is the one that counts.
    expect(scanListItems(body)?.ids).toEqual(['\\']);
    const first = Buffer.from(
      '{"data":[{"data":{"id":"first","\\u0069d":"a\\"b\\u00e9"}},{"data":{"id":"x","id":7}},' +
        '{"data":"not an object"},{"data":{"id":"gone"},"data":{"id":"kept"}}],"links":[]}',
    );
    expect(scanListItems(first)?.ids).toEqual(['a"bé', null, null, 'kept']);
  });

  it('refuses what is not a list body: cut off, no data list, broken structure', () => {
    const good = bodyOf([{ id: 'a' }, { id: 'b' }], '/next', 0);
    for (let cut = 0; cut < good.length; cut++) expect(scanListItems(good.subarray(0, cut))).toBeNull();
    for (const bad of [
      '{"data":{}}',
      '{"links":[]}',
      '{"data":[{"data":{"id":"a"}} {"data":{}}]}',
      '{"data":[{"data":{"id" "a"}}]}',
      '{"data":[]} x',
      '[]',
      '{"data":[{"data":{"id":"a"}]}',
    ])
      expect(scanListItems(Buffer.from(bad)), bad).toBeNull();
    expect(scanListItems(Buffer.from('{"data":[]}'))).toEqual({
      start: new Int32Array(0),
      end: new Int32Array(0),
      ids: [],
      next: null,
    });
  });
});
