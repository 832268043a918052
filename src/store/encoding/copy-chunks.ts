import { copyEscape, lineStart } from './row-text.js';
import type { RowLines } from './row-text.js';

/**
 * The fast path of the COPY text format (see row-text.ts): rows of values, or lines a source
 * already encoded, written into ~1 MB Buffers for a COPY FROM STDIN stream. The plain reference
 * path is `copyEscape` per value joined by tabs (see test/store/copy-text.property.test.ts, which
 * proves the two agree).
 */

/**
 * What a bulk write may carry per column. A Uint8Array is text as UTF-8 bytes (never a blob): COPY
 * writes it as it is, every other path binds it decoded.
 */
export type SqlValue = string | number | null | Uint8Array;

/** A value as SQL binds it: bytes decoded to the text they hold. */
export function bound(v: SqlValue): string | number | null {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : v;
}

/** True when UTF-8 `b` holds a byte COPY text must escape (native scans, as for strings). */
function bytesNeedCopyEscape(b: Buffer): boolean {
  return b.indexOf(0x5c) >= 0 || b.indexOf(0x0a) >= 0 || b.indexOf(0x09) >= 0 || b.indexOf(0x0d) >= 0;
}

/** Strings up to this long take the byte-by-byte path of {@link plainAscii}. */
const SHORT_TEXT = 64;

/**
 * Writes `s` into `buf` at `at` when it is ASCII with nothing COPY must escape, and returns its
 * length; returns -1 (having written some of it) otherwise. Most COPY values are short ids, hashes,
 * times and kinds: one loop here is cheaper than four indexOf scans and a native write per value,
 * which a large sync makes millions of times.
 */
function plainAscii(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80 || c < 0x20 || c === 0x5c) return -1;
    buf[at + j] = c;
  }
  return n;
}

/** Bytes per piece of COPY input. */
const COPY_PIECE = 1 << 20;

/**
 * COPY input for `rows` as ~1 MB Buffers, each value UTF-8-encoded straight into place (short ASCII
 * values byte by byte, values given as UTF-8 bytes copied as they are). Building
 * strings instead left the copy stream to encode each piece itself, and a piece built by `+=` is a
 * rope of thousands of parts that must be flattened first: a noticeable share of the main thread,
 * plus the garbage.
 */
export function* copyChunks(rows: ReadonlyArray<readonly SqlValue[]>): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(COPY_PIECE);
  let at = 0;
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      const v = r[i]!;
      // One of three forms: bytes copied as they are (a record's JSON from the source, nothing to
      // escape), a short string written byte by byte when it is plain ASCII, or escaped text.
      let bytes: Buffer | null = null;
      let short: string | null = null;
      let text = '';
      if (v instanceof Uint8Array) {
        const b: Buffer = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        if (bytesNeedCopyEscape(b)) text = copyEscape(bound(b));
        else bytes = b;
      } else if (typeof v === 'string' && v.length <= SHORT_TEXT) short = v;
      else text = copyEscape(v);
      // Room for the value (3 bytes per UTF-16 unit at most, escaped or not), a tab and a newline.
      const room = (bytes ? bytes.length : (short ?? text).length * 3) + 2;
      if (at + room > buf.length) {
        if (at > 0) yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(Math.max(COPY_PIECE, room));
        at = 0;
      }
      if (i > 0) buf[at++] = 0x09;
      if (bytes) at += bytes.copy(buf, at);
      else if (short !== null) {
        const n = plainAscii(buf, at, short);
        at += n >= 0 ? n : buf.write(copyEscape(short), at, 'utf8');
      } else at += buf.write(text, at, 'utf8');
    }
    buf[at++] = 0x0a;
  }
  if (at > 0) yield buf.subarray(0, at);
}

/**
 * COPY input for lines of COPY text (see row-text.ts), each after the same leading values:
 * two copies of bytes a line, nothing encoded here.
 */
export function* lineChunks(lead: readonly SqlValue[], blocks: readonly RowLines[]): Generator<Buffer> {
  let head = '';
  for (const v of lead) head += `${copyEscape(v instanceof Uint8Array ? bound(v) : v)}\t`;
  const prefix = Buffer.from(head, 'utf8');
  let buf = Buffer.allocUnsafe(COPY_PIECE);
  let at = 0;
  for (const b of blocks) {
    for (let i = b.first; i < b.last; i++) {
      const from = lineStart(b, i);
      const to = b.ends[i]!;
      const room = prefix.length + to - from;
      if (at + room > buf.length) {
        if (at > 0) yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(Math.max(COPY_PIECE, room));
        at = 0;
      }
      buf.set(prefix, at);
      at += prefix.length;
      buf.set(b.bytes.subarray(from, to), at);
      at += to - from;
    }
  }
  if (at > 0) yield buf.subarray(0, at);
}
