/**
 * Rows in PostgreSQL's COPY text format: values separated by tabs, a newline after each row, `\N`
 * for null, and a backslash, tab, newline or carriage return inside a value escaped with a
 * backslash. The store bulk-loads in this format (copy-chunks.ts); a source that decodes pages
 * ahead (sources/clever/page-decoder.ts) can encode a record's rows in it while it holds the
 * record's fields, so the sync's main thread only copies bytes. No imports: the decoder worker
 * loads this file.
 */

/** True when `s` holds a character COPY text must escape. Four indexOf scans (vectorised by V8). */
function needsEscape(s: string): boolean {
  return s.indexOf('\\') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\t') >= 0 || s.indexOf('\r') >= 0;
}

/** One value as COPY text (not yet UTF-8). */
export function copyEscape(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  // Most values (ids, hashes, times, JSON) have nothing to escape; testing is far cheaper than replacing.
  if (!needsEscape(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/**
 * Lines of COPY text, each a row without its leading columns (the writer puts the same ones before
 * every line: district, source, times), each ending in a newline. Lines `first` up to `last` of a
 * page's lines: line i spans bytes `ends[i - 1]` (0 for the first line of the page) up to `ends[i]`.
 */
export interface RowLines {
  bytes: Uint8Array;
  ends: Int32Array;
  first: number;
  last: number;
}

/** Where a line of `lines` starts in its bytes. */
export function lineStart(lines: RowLines, i: number): number {
  return i === 0 ? 0 : lines.ends[i - 1]!;
}

/**
 * The values of lines of COPY text: the inverse of the encoding, the reference the encoders are
 * tested against. No write path uses it: lines are only ever loaded as they are (COPY).
 */
export function lineValues(lines: RowLines): Array<Array<string | null>> {
  const text = new TextDecoder();
  const out: Array<Array<string | null>> = [];
  for (let i = lines.first; i < lines.last; i++) {
    const line = text.decode(lines.bytes.subarray(lineStart(lines, i), lines.ends[i]! - 1));
    out.push(
      line
        .split('\t')
        .map((v) =>
          v === '\\N'
            ? null
            : v.replace(/\\([\\tnr])/g, (_, c: string) =>
                c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\',
              ),
        ),
    );
  }
  return out;
}

/** Printable ASCII but the backslash: nothing COPY text escapes. */
const PRINTABLE = /^[!-[\]-~]*$/;

/**
 * Builds a page's lines of COPY text into one growing buffer. Values are encoded as they are
 * added; `endLine` closes a row.
 */
export class RowTextWriter {
  private buf: Uint8Array = new Uint8Array(1 << 16);
  private at = 0;
  private readonly lineEnds: number[] = [];
  private lineOpen = false;
  private readonly encoder = new TextEncoder();

  /** Lines ended so far. */
  get lines(): number {
    return this.lineEnds.length;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }

  private text(s: string): void {
    // Room for the worst case: 3 UTF-8 bytes per UTF-16 unit.
    this.room(s.length * 3 + 1);
    const buf = this.buf;
    let at = this.at;
    // Plain ASCII (ids, hashes, most values) byte by byte; anything else through the encoder.
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c >= 0x80) {
        at = this.at + this.encoder.encodeInto(s, buf.subarray(this.at)).written;
        break;
      }
      buf[at++] = c;
    }
    this.at = at;
  }

  private separate(): void {
    if (this.lineOpen) {
      this.room(1);
      this.buf[this.at++] = 0x09;
    }
    this.lineOpen = true;
  }

  /** Adds a value (null: SQL null) to the open line. */
  value(v: string | null): void {
    this.separate();
    this.text(copyEscape(v));
  }

  /**
   * Adds a value that is mostly printable ASCII with nothing to escape (a hash), through the encoder:
   * a string made by concatenation or `substring` is read faster natively than character by
   * character, and passing such strings to the loop in `text` slows it down for every later value
   * (see docs/benchmarks.md). Any other value goes the way of {@link value}.
   */
  plain(v: string | null): void {
    if (v === null || !PRINTABLE.test(v)) return this.value(v);
    this.separate();
    this.room(v.length * 3);
    this.at += this.encoder.encodeInto(v, this.buf.subarray(this.at)).written;
  }

  /**
   * Adds a JSON text as a value. JSON holds no raw tab, newline or carriage return (JSON.stringify
   * escapes them), so only its backslashes need doubling.
   */
  json(s: string): void {
    this.separate();
    this.text(s.indexOf('\\') >= 0 ? s.replace(/\\/g, '\\\\') : s);
  }

  endLine(): void {
    this.room(1);
    this.buf[this.at++] = 0x0a;
    this.lineEnds.push(this.at);
    this.lineOpen = false;
  }

  /** The lines, copied out at their exact size (transferable). */
  finish(): { bytes: Uint8Array; ends: Int32Array } {
    return { bytes: this.buf.slice(0, this.at), ends: new Int32Array(this.lineEnds) };
  }
}
