import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBytes } from '../../src/sources/clever/decode/json-bytes.js';

/** What parseJsonBytes must equal: the plain way (UTF-8 text, byte order mark dropped). */
function plain(bytes: Uint8Array): unknown {
  let text = Buffer.from(bytes).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return JSON.parse(text);
}

function same(bytes: Uint8Array): void {
  const want = plain(bytes);
  const got = parseJsonBytes(bytes);
  expect(got).toStrictEqual(want);
  // Key order and own properties too (toStrictEqual does not look at order).
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
}

/**
 * One character of generated text: any code point (lone surrogates too), or one from U+0080–U+017F,
 * the range where a parsed character and a Latin-1-decoded byte are easiest to confuse.
 */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x80, max: 0x17f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('a', '"', '\\', '/'),
);

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('parseJsonBytes', () => {
  it('parses ASCII, Latin-1-range, wide and astral text like the plain UTF-8 way', () => {
    for (const s of [
      '{"a":"plain ascii","n":[1,2.5,-3e2,true,null]}',
      '{"name":{"first":"Zoë","last":"Ñúñez"},"city":"Montréal"}',
      '{"name":"Nguyễn Thị Minh Khai","zh":"王小明","ar":"محمد"}',
      '{"emoji":"👩🏽‍🎓 Ada","combining":"e\u0301clair"}',
      '{"Schüler":{"Straße":"Hauptstraße 1"},"ключ":["значение"]}',
      '\ufeff{"bom":"dropped, ünïcode kept"}',
      '{"escapes":"tab\\there \\"quoted\\" back\\\\slash \\u0041\\u003c\\u007f"}',
      '{"wide escape":"\\u00e9 and é","astral":"\\ud83c\\udf93"}',
      '{"at the edge":"\\u007f stays, é decoded","beyond":"\\u0080 and \\u0099 with é"}',
      '{"not an escape":"\\\\u00e9 stays text, é decoded"}',
      '{"__proto__":{"x":"ä"},"ö":1}',
      '{"dup":"first ü","dup":"second ü"}',
    ])
      same(utf8(s));
  });

  it('keeps an own __proto__ key where a key needs decoding again', () => {
    const got = parseJsonBytes(utf8('{"ä":1,"__proto__":{"polluted":"ü"}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(['ä', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('replaces invalid UTF-8 inside strings exactly as the plain way does', () => {
    const quote = 0x22;
    for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x8e], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const bytes = new Uint8Array([0x7b, quote, 0x6b, quote, 0x3a, quote, 0x61, ...bad, 0x62, quote, 0x7d]);
      same(bytes);
    }
  });

  it('throws a SyntaxError for a body cut off or not JSON, as JSON.parse does', () => {
    for (const s of ['{"name":"Zoë', '', '<html>Bad Gateway</html>', '{"a":1}é']) {
      expect(() => plain(utf8(s))).toThrow(SyntaxError);
      expect(() => parseJsonBytes(utf8(s))).toThrow(SyntaxError);
    }
  });

  it('equals the plain way on generated JSON of any text, escaped or not', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: unit }), fc.boolean(), fc.boolean(), (value, escapes, bom) => {
        let text = JSON.stringify(value);
        // Some bodies escape non-ASCII characters, as many encoders can: here every other one, so
        // escaped and raw non-ASCII text meet in one body.
        if (escapes)
          text = text.replace(/[\u007f-\uffff]/g, (c) =>
            c.charCodeAt(0) % 2 === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c,
          );
        same(utf8((bom ? '\ufeff' : '') + text));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals the plain way on records with generated unicode names', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ first: fc.string({ unit: 'grapheme' }), last: fc.string({ unit: 'binary' }) }), {
          maxLength: 50,
        }),
        (names) => same(utf8(JSON.stringify({ data: names.map((n) => ({ data: { name: n } })) }))),
      ),
      { numRuns: 500 },
    );
  });
});
