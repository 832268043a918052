import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/model/hash.js';
import { CleverMapper } from '../../src/sources/clever/decode/clever-mapper.js';
import { PageDecoder } from '../../src/sources/clever/decode/page-decoder.js';
import type { PageKind } from '../../src/sources/clever/decode/page-decoder.js';

/** One decoder for the file's pages, as a worker has: its buffers are reused from page to page. */
const decoder = new PageDecoder();

/**
 * The page decoder parses a body with non-ASCII text as Latin-1 and decodes only the strings the
 * mappers use (see json-bytes.ts parseJsonBytesDeferred). Whatever the text, and wherever it sits
 * (names, ids, emails, extension keys and values, relationships, the next link), each record must
 * come out exactly as mapping the plainly decoded body gives.
 */

/** Text anywhere in Unicode, weighted to U+0080–U+017F (where a byte and a character are confusable). */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x80, max: 0x17f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('a', ' ', '\u00a0', 'À', '"', '\\', '\u0000'),
);
const text = fc.string({ unit, maxLength: 12 });

function body(items: unknown[], next: string | null): Uint8Array {
  const links = [{ rel: 'self', uri: '/v3.0/x' }, ...(next === null ? [] : [{ rel: 'next', uri: next }])];
  return new Uint8Array(
    Buffer.from(JSON.stringify({ data: items.map((data) => ({ data })), links }), 'utf8'),
  );
}

/** The mapper of plainly parsed bodies. */
const mapper = new CleverMapper();

/** The reference: the body decoded as UTF-8 text, every item mapped, each record's canonical JSON. */
function reference(bytes: Uint8Array, what: PageKind) {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
    data: Array<{ data: Record<string, unknown> }>;
  };
  const out: Array<{ id: string; json: string }> = [];
  for (const { data } of parsed.data) {
    if (what.kind === 'users') {
      for (const r of mapper.mapUser(data).records)
        if (r.entity === what.entity) out.push({ id: r.id, json: canonicalJson(r.data) });
    } else {
      const r = mapper.mapSection(data);
      if (r.ok) out.push({ id: r.id!, json: canonicalJson(r.data) });
    }
  }
  return out;
}

function decoded(bytes: Uint8Array, what: PageKind) {
  const r = decoder.decode(bytes, what);
  if (!r.ok) throw new Error(r.message);
  const p = r.page.records;
  const json = Buffer.from(p.json.buffer, p.json.byteOffset, p.json.byteLength);
  return {
    page: r.page,
    records: p.sourceIds.map((id, i) => ({
      id,
      json: json.toString('utf8', i === 0 ? 0 : p.jsonEnd[i - 1]!, p.jsonEnd[i]),
    })),
  };
}

describe('page decoder, text decoded as the mappers use it', () => {
  it('maps users with any text in any field exactly as the plainly decoded body', () => {
    const user = fc.record({
      id: fc.tuple(fc.constantFrom('6800', 'é800', '68ü0'), text).map(([a, b]) => a + b),
      email: text,
      first: text,
      last: text,
      extKey: text,
      extValue: text,
      school: text,
      role: fc.constantFrom('student', 'teacher', 'contact'),
    });
    fc.assert(
      fc.property(fc.array(user, { minLength: 1, maxLength: 8 }), text, (users, nextTail) => {
        const items = users.map((u) => ({
          id: u.id,
          email: u.email,
          name: { first: u.first, last: u.last, middle: `${u.first}·` },
          roles: {
            [u.role]:
              u.role === 'contact'
                ? { student_relationships: [{ student: u.school, relationship: u.last, type: u.first }] }
                : {
                    school: u.school,
                    schools: [u.school, `${u.school}ß`],
                    sis_id: u.first,
                    title: u.last,
                    ext: {
                      [u.extKey]: u.extValue,
                      [`${u.extKey}ö`]: [u.extValue, { [u.extValue]: u.extKey }],
                    },
                  },
          },
        }));
        const next = `/v3.0/users?starting_after=${nextTail}`;
        const bytes = body(items, next);
        for (const entity of ['students', 'staff', 'contacts'] as const) {
          const what: PageKind = { kind: 'users', entity };
          const got = decoded(bytes, what);
          expect(got.records).toEqual(reference(bytes, what));
          expect(got.page.next).toBe(next);
          expect(got.page.lastId).toBe(users[users.length - 1]!.id.replaceAll('\u0000', ''));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('maps sections with any text exactly as the plainly decoded body, and a body with wide escapes too', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, text, text), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (rows, escape) => {
          const items = rows.map(([a, b, c], i) => ({
            id: `${i}${a}`,
            school: b || 's',
            name: c,
            students: [a, b],
            teachers: [c],
            ext: { [a]: b },
          }));
          let bytes = body(items, null);
          // \u escapes of characters above U+007F send the body down the plain UTF-8 path.
          if (escape)
            bytes = new Uint8Array(
              Buffer.from(
                Buffer.from(bytes)
                  .toString('utf8')
                  .replace(
                    /[\u0080-\uffff]/g,
                    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
                  ),
                'utf8',
              ),
            );
          const what: PageKind = { kind: 'simple', entity: 'sections' };
          expect(decoded(bytes, what).records).toEqual(reference(bytes, what));
        },
      ),
      { numRuns: 300 },
    );
  });
});
