import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBytesDeferred } from '../../src/sources/clever/decode/json-bytes.js';
import { PageDecoder } from '../../src/sources/clever/decode/page-decoder.js';
import type { PageKind } from '../../src/sources/clever/decode/page-decoder.js';
import { clever, page } from './clever-pages.js';
import type { Encoding, GeneratedPage } from './clever-pages.js';
import { decodedView, referenceView } from './clever-page-views.js';
import type { PageView } from './clever-page-views.js';

/**
 * The byte-level page decoder (Latin-1 parsing with strings decoded as the mapper uses them, records
 * packed as bytes and strings, raw item hashes) must give what the plain reference path gives:
 * JSON.parse of the page as UTF-8 text, the plain mapper, and each record's canonical JSON, hash and
 * write values computed from its data. Pages are generated with hostile strings (escapes, multi-byte
 * and invalid UTF-8, NUL, lone surrogates, long strings) and missing, wrong-typed and extra fields,
 * and each is decoded both as sent (Latin-1 mode when it holds non-ASCII bytes) and with every
 * non-ASCII character escaped (the plain UTF-8 mode).
 */

/** One decoder for all pages, as a worker has: its buffers are reused from page to page. */
const decoder = new PageDecoder();

function decoded(bytes: Uint8Array, what: PageKind): PageView {
  const r = decoder.decode(bytes, what);
  if (!r.ok) throw new Error(r.message);
  return decodedView(r.page, what);
}

const write = fc.constantFrom<Pick<PageKind, 'forWriting' | 'rowText'>>(
  {},
  { forWriting: true },
  { forWriting: true, rowText: true },
);

/** What the generated pages covered: the text modes met, and records with and without a raw hash. */
const seen = { latin1: 0, plain: 0, raw: 0, noRaw: 0 };

/** Checks one generated page in both encodings. */
function agree(gen: (e: Encoding) => GeneratedPage, what: PageKind): void {
  for (const encoding of ['utf8', 'escaped'] as const) {
    const p = gen(encoding);
    seen[parseJsonBytesDeferred(p.bytes).latin1 ? 'latin1' : 'plain']++;
    const want = referenceView(p, what);
    expect(decoded(p.bytes, what)).toEqual(want);
    for (const r of want.records) seen[r.raw === null ? 'noRaw' : 'raw']++;
  }
}

/** Each kind of case was met often enough to count (a generator gone too hostile shows here). */
function coveredWell(): void {
  const total = seen.latin1 + seen.plain;
  expect(seen.latin1).toBeGreaterThan(total / 5);
  expect(seen.plain).toBeGreaterThan(total / 5);
  expect(seen.raw).toBeGreaterThan(total / 10);
  expect(seen.noRaw).toBeGreaterThan(total / 10);
  Object.assign(seen, { latin1: 0, plain: 0, raw: 0, noRaw: 0 });
}

describe('the Clever page decoder equals the plain reference path', () => {
  it('on pages of users, for each entity a user maps to, in both text modes', () => {
    fc.assert(
      fc.property(
        fc.array(clever.user, { maxLength: 8 }),
        fc.option(clever.text, { nil: null }),
        fc.constantFrom('students', 'staff', 'contacts' as const),
        write,
        (users, next, entity, w) => {
          agree((e) => page(users, next, e), { kind: 'users', entity, ...w });
        },
      ),
      { numRuns: 300 },
    );
    coveredWell();
  });

  it('on pages of schools, terms, courses and sections, in both text modes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constant('schools' as const), fc.array(clever.school, { maxLength: 6 })),
          fc.tuple(fc.constant('terms' as const), fc.array(clever.term, { maxLength: 6 })),
          fc.tuple(fc.constant('courses' as const), fc.array(clever.course, { maxLength: 6 })),
          fc.tuple(fc.constant('sections' as const), fc.array(clever.section, { maxLength: 6 })),
        ),
        fc.option(clever.text, { nil: null }),
        write,
        ([entity, items], next, w) => {
          agree((e) => page(items, next, e), { kind: 'simple', entity, ...w });
        },
      ),
      { numRuns: 300 },
    );
    coveredWell();
  });

  it('on a record larger than the buffer records are packed in, and on the page after it', () => {
    const what: PageKind = { kind: 'users', entity: 'students' };
    const student = (id: string, first: string) => ({
      id,
      name: { first, last: 'Ü' },
      roles: { student: { school: 's1', schools: ['s1'] } },
    });
    // 6 MB of multi-byte text, more than the 4 MB the packer starts with, among other records.
    const big = page([student('a', 'Zoë'), student('b', '🎓'.repeat(1_500_000)), student('c', '王')], null);
    expect(decoded(big.bytes, what)).toEqual(referenceView(big, what));
    const after = page([student('d', 'Åsa')], null);
    expect(decoded(after.bytes, what)).toEqual(referenceView(after, what));
  });
});
