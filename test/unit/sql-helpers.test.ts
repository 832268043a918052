import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textArrayLiteral } from '../../src/store/sql-helpers.js';

/** What node-postgres itself sends for a JS array parameter (its own conversion, an untyped module). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (v: unknown) => unknown;
};
const pgLiteral = (values: string[]) => prepareValue(values);

describe('text array literal', () => {
  it('is exactly the text node-postgres sends for the same array', () => {
    const unit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.constantFrom('"', '\\', '{', '}', ',', ' ', 'NULL', "'", 'é', '\u2028', '\n'),
    );
    fc.assert(
      fc.property(fc.array(fc.string({ unit, maxLength: 12 }), { maxLength: 20 }), (values) => {
        expect(textArrayLiteral(values)).toBe(pgLiteral(values));
      }),
      { numRuns: 2000 },
    );
    for (const values of [[], [''], ['NULL'], ['a"b'], ['a\\b'], ['a,b', '{c}'], ['x', 'y\\"z']])
      expect(textArrayLiteral(values)).toBe(pgLiteral(values));
  });
});
