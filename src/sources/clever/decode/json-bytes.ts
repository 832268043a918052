import { isAscii } from 'node:buffer';

/** A character that stands for a byte of a UTF-8 multi-byte sequence in Latin-1 decoded text. */
const HIGH = /[\x80-\xff]/;

/**
 * Parses a JSON body given as UTF-8 bytes; throws a SyntaxError as JSON.parse does. The result is
 * the same as `JSON.parse(utf8 text)`, with a leading byte order mark dropped.
 *
 * Why not just that: once a body holds any non-ASCII byte (one accented name in a page of 2,000
 * students), Node 20's UTF-8 decoder takes its slow path and makes the whole text, and every string
 * parsed from it, two bytes per character. Latin-1 decoding is a plain copy that keeps strings one
 * byte wide. So the body is decoded as Latin-1 and parsed, and only the strings holding bytes of
 * 0x80 and above are decoded again as UTF-8. That is exact: JSON's structure is ASCII and no byte of
 * a UTF-8 multi-byte sequence is, so every such sequence lies whole inside one string (invalid ones
 * too, which become U+FFFD either way). It would be wrong only for a `\u` escape of U+0080 or above,
 * whose parsed character would be taken for a byte: a body with one is decoded the plain way.
 * (What it saves per page: docs/benchmarks.md, "Moved from code comments".)
 */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  const parsed = parseJsonBytesDeferred(bytes);
  return parsed.latin1 ? decodeHighStrings(parsed.value) : parsed.value;
}

/**
 * {@link parseJsonBytes} without the last step: when `latin1` is true, a string (value or key)
 * holding characters U+0080–U+00FF holds UTF-8 bytes still, and must go through {@link utf8Text}
 * before it is used. For a reader that uses only some of the strings (the Clever mapper uses about
 * half of a user's): walking the whole parsed page to decode them all would cost the decoder worker
 * a walk of every page on every sync (docs/benchmarks.md, "Moved from code comments").
 */
export function parseJsonBytesDeferred(bytes: Uint8Array): { value: unknown; latin1: boolean } {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
  if (isAscii(buf)) return { value: JSON.parse(buf.toString('latin1')), latin1: false };
  if (hasWideEscape(buf)) return { value: JSON.parse(buf.toString('utf8')), latin1: false };
  return { value: JSON.parse(buf.toString('latin1')), latin1: true };
}

/** A string of a body parsed with `latin1` set (see {@link parseJsonBytesDeferred}), decoded. */
export function utf8Text(s: string): string {
  return HIGH.test(s) ? redecode(s) : s;
}

/** True when the body holds a `\u` escape of U+0080 or above. */
function hasWideEscape(buf: Buffer): boolean {
  // Escapes are read left to right, each backslash with the character after it, so `\\u0100` (an
  // escaped backslash, then text) is not mistaken for an escape. Backslashes only occur in strings.
  for (let at = buf.indexOf(0x5c); at >= 0; at = buf.indexOf(0x5c, at + 2)) {
    if (buf[at + 1] !== 0x75) continue;
    const lowAscii =
      buf[at + 2] === 0x30 && buf[at + 3] === 0x30 && buf[at + 4]! >= 0x30 && buf[at + 4]! <= 0x37;
    if (!lowAscii) return true;
  }
  return false;
}

function redecode(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Decodes again, in place where it can, every string (value or key) that holds high characters. */
function decodeHighStrings(v: unknown): unknown {
  if (typeof v === 'string') return HIGH.test(v) ? redecode(v) : v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'string' || (typeof x === 'object' && x !== null)) v[i] = decodeHighStrings(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  let highKey = false;
  for (const k in o) {
    if (HIGH.test(k)) highKey = true;
    const x = o[k];
    if (typeof x === 'string' || (typeof x === 'object' && x !== null)) o[k] = decodeHighStrings(x);
  }
  if (!highKey) return o;
  // Rebuilt in the same order; defineProperty, because a plain assignment to a key `__proto__`
  // would set the prototype where JSON.parse made an own property. A key that decodes to one seen
  // before keeps its first place and takes the later value, as JSON.parse does with duplicates.
  const out: Record<string, unknown> = {};
  for (const k in o) {
    Object.defineProperty(out, HIGH.test(k) ? redecode(k) : k, {
      value: o[k],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
