import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageDecoder, scanPage } from '../../src/sources/clever/decode/page-decoder.js';
import type { PageKind } from '../../src/sources/clever/decode/page-decoder.js';
import { RAW_VERSION } from '../../src/sources/clever/decode/record-packer.js';
import { clever, page } from './clever-pages.js';
import { decodedView, referenceView } from './clever-page-views.js';

/**
 * Recognising unchanged items without decoding them (a re-sync): the scan reads each item's id and
 * raw hash from the page's bytes, and must give what the reference gives: JSON.parse of the page,
 * each item's id, and the SHA-1 of the item's exact bytes. Decoding the page with the recognised
 * items skipped must give the reference page less those items.
 */

const what = fc.constantFrom<PageKind>(
  { kind: 'users', entity: 'students' },
  { kind: 'users', entity: 'staff' },
  { kind: 'users', entity: 'contacts' },
);
const encoding = fc.constantFrom('utf8' as const, 'escaped' as const);

describe('the re-sync scan equals the plain reference path', () => {
  it('reads the ids and raw hashes of a page of users or sections as JSON.parse and SHA-1 give them', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.array(clever.user, { maxLength: 8 }), what),
          fc.tuple(
            fc.array(clever.section, { maxLength: 8 }),
            fc.constant<PageKind>({ kind: 'simple', entity: 'sections' }),
          ),
        ),
        fc.option(clever.text, { nil: null }),
        encoding,
        ([items, kind], next, enc) => {
          const p = page(items, next, enc);
          const scan = scanPage(p.bytes, kind);
          expect(scan).not.toBeNull();
          const body = JSON.parse(Buffer.from(p.bytes).toString('utf8')) as {
            data: Array<{ data: { id?: unknown } }>;
            links: Array<{ rel: string; uri: string }>;
          };
          expect(scan!.list.ids).toEqual(
            body.data.map((i) => (typeof i.data.id === 'string' ? i.data.id : null)),
          );
          expect(scan!.list.next).toBe(body.links.find((l) => l.rel === 'next')?.uri ?? null);
          const raws = p.spans.map(
            ([start, end]) =>
              RAW_VERSION + createHash('sha1').update(p.bytes.subarray(start, end)).digest('base64url'),
          );
          expect(scan!.raws).toBe(raws.join(''));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is not asked of schools, terms and courses, whose records keep no raw hash', () => {
    const p = page([{ id: 'a', name: 'A' }], null);
    for (const entity of ['schools', 'terms', 'courses'] as const)
      expect(scanPage(p.bytes, { kind: 'simple', entity })).toBeNull();
  });

  it('decodes a page with recognised items skipped as the reference page less those items', () => {
    const decoder = new PageDecoder();
    fc.assert(
      fc.property(
        fc.array(clever.user, { maxLength: 8 }),
        what,
        encoding,
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (users, kind, enc, marks) => {
          const p = page(users, '/next', enc);
          const scan = scanPage(p.bytes, kind)!;
          const want = referenceView(p, kind);
          // Only an item mapped cleanly, with an id the scan can read, is ever recognised.
          const skip = new Uint8Array(users.length);
          const skippable = (item: number) =>
            marks[item] === true &&
            scan.list.ids[item] !== null &&
            want.records.some((r) => r.item === item && r.raw !== null);
          for (let i = 0; i < users.length; i++) if (skippable(i)) skip[i] = 1;
          const r = decoder.decode(p.bytes, kind, scan, skip);
          if (!r.ok) throw new Error(r.message);
          expect(r.page.skipped).toBe(true);
          expect(decodedView(r.page, kind)).toEqual({
            ...want,
            notes: want.notes.filter((n) => skip[n.item] !== 1),
            records: want.records.filter((rec) => skip[rec.item] !== 1),
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('skips nothing, and keeps no raw hash, when the parse finds other items than the scan', () => {
    const kind: PageKind = { kind: 'users', entity: 'students' };
    const student = (id: string) => ({
      id,
      name: { first: 'A', last: 'B' },
      roles: { student: { school: 's1' } },
    });
    const p = page([student('a'), student('b'), student('c')], null);
    const other = scanPage(page([student('a'), student('c')], null).bytes, kind);
    const r = new PageDecoder().decode(p.bytes, kind, other, new Uint8Array([1, 0]));
    if (!r.ok) throw new Error(r.message);
    expect(r.page.skipped).toBe(false);
    const want = referenceView(p, kind);
    expect(decodedView(r.page, kind)).toEqual({
      ...want,
      records: want.records.map((rec) => ({ ...rec, raw: null })),
    });
  });
});
