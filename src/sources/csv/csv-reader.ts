import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';
import { RostersyncError } from '../../shared/errors.js';

/**
 * Streaming CSV reading with the checks a nightly drop needs before any row is trusted:
 * UTF-8 (with or without BOM; anything else is rejected, never guessed), no NUL bytes (a binary
 * file is not CSV), CRLF or LF, quoted fields, a header row, a bound on field size, and a clear
 * error naming the file and line for anything the parser cannot recover from.
 */

/** Longest record accepted, in characters. A bigger one is a broken quote or not a roster file. */
export const MAX_RECORD_CHARS = 256 * 1024;

export interface CsvRow {
  /** Line number (1-based) where the record ends in the file. */
  line: number;
  /** Field values by column name (header order). */
  values: Record<string, string>;
  /** Set when the row has a different number of fields than the header. */
  fieldCountError?: string;
}

export interface CsvHeader {
  columns: string[];
}

export function fileError(file: string, message: string, cause?: unknown): RostersyncError {
  return new RostersyncError('input', `${file}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Decodes UTF-8 strictly (rejecting invalid bytes and NULs) and reports where a problem is. */
class StrictUtf8 extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private offset = 0;
  /** Line breaks (LF) decoded so far, to name the line of an encoding problem. */
  private lineBreaks = 0;
  /** Bytes at the end of the previous chunk that start a character the chunk did not finish. */
  private carry: Buffer = Buffer.alloc(0);
  /** The file's last byte (a complete file normally ends with a line break). */
  lastByte: number | null = null;
  constructor(private readonly file: string) {
    super({ readableObjectMode: false, decodeStrings: true, encoding: 'utf8' });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (
      this.offset === 0 &&
      chunk.length >= 2 &&
      (chunk.readUInt16BE(0) === 0xfffe || chunk.readUInt16BE(0) === 0xfeff)
    ) {
      cb(
        fileError(
          this.file,
          'is UTF-16 text (a "Unicode text" export); save it as "CSV UTF-8" and drop it again',
        ),
      );
      return;
    }
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      cb(
        fileError(
          this.file,
          `contains a NUL byte at byte ${this.offset + nul}: this is a binary file, not a CSV text file`,
        ),
      );
      return;
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch (err) {
      // Find the first bad byte for the message: decode leniently from the start of the character the
      // previous chunk left open, and take the first replacement character.
      const lenient = new TextDecoder('utf-8').decode(Buffer.concat([this.carry, chunk]));
      const bad = Math.max(0, lenient.indexOf('\ufffd'));
      const before = lenient.slice(0, bad);
      const line = this.lineBreaks + (before.match(/\n/g)?.length ?? 0) + 1;
      const byte = this.offset - this.carry.length + Buffer.byteLength(before);
      cb(
        fileError(
          this.file,
          `line ${line}: is not valid UTF-8 (byte ${byte}); save it as UTF-8 (spreadsheets: "CSV UTF-8") and drop it again`,
          err,
        ),
      );
      return;
    }
    this.offset += chunk.length;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1]!;
    this.carry = openCharacter(Buffer.concat([this.carry, chunk.subarray(Math.max(0, chunk.length - 3))]));
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineBreaks++;
    cb(null, text);
  }
  override _flush(cb: TransformCallback): void {
    try {
      const rest = this.decoder.decode();
      cb(null, rest);
    } catch (err) {
      cb(fileError(this.file, 'ends in the middle of a UTF-8 character (truncated file?)', err));
    }
  }
}

/** The trailing bytes of `b` that begin a multi-byte UTF-8 character not complete within `b`. */
function openCharacter(b: Buffer): Buffer {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back]!;
    if (c < 0x80) return Buffer.alloc(0);
    if (c >= 0xc0) {
      const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return len > back ? Buffer.from(b.subarray(b.length - back)) : Buffer.alloc(0);
    }
  }
  return Buffer.alloc(0);
}

function parserMessage(err: unknown): string {
  const e = err as { code?: string; message?: string; lines?: number };
  const line = e.lines !== undefined ? `line ${e.lines}: ` : '';
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `${line}a quoted field is never closed (a missing " or a truncated file)`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${line}a quoted field is followed by more text before the separator (stray ")`;
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `${line}unexpected characters after a closing quote`;
    case 'CSV_MAX_RECORD_SIZE':
      return `${line}a record is longer than ${MAX_RECORD_CHARS} characters (a broken quote, or not a roster file)`;
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_OPENING_QUOTE':
      return `${line}a field contains a " that does not open a quoted field; quote the whole field and double inner quotes ("")`;
    default:
      return `${line}cannot be parsed as CSV (${e.code ?? e.message ?? 'unknown error'})`;
  }
}

/**
 * Reads a CSV file row by row. The first non-empty row is the header. Throws an `input` error naming
 * the file for problems with the file as a whole (encoding, structure, no header, a last row cut
 * short); a row whose field count differs from the header is yielded with `fieldCountError` so the
 * caller can skip and report it.
 */
export async function* readCsv(
  path: string,
  file: string,
  onHeader: (h: CsvHeader) => void,
): AsyncGenerator<CsvRow> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fileError(file, 'cannot be read', err);
  }
  if (info.size === 0) throw fileError(file, 'is empty (no header row)');
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: MAX_RECORD_CHARS,
    // Every line ending, even mixed in one file (rows appended by another tool).
    record_delimiter: ['\r\n', '\n', '\r'],
  });
  const input = createReadStream(path);
  const decoder = new StrictUtf8(file);
  input.on('error', (err) => parser.destroy(fileError(file, 'cannot be read', err)));
  decoder.on('error', (err) => parser.destroy(err));
  input.pipe(decoder).pipe(parser);
  let header: string[] | null = null;
  let last: CsvRow | null = null;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info: meta } = item;
      if (record.every((f) => f.trim() === '')) continue;
      if (header === null) {
        header = record.map((h) => h.trim());
        onHeader({ columns: header });
        continue;
      }
      const values: Record<string, string> = {};
      const n = Math.min(header.length, record.length);
      for (let i = 0; i < n; i++) values[header[i]!] = record[i]!.trim();
      const row: CsvRow = { line: meta.lines, values };
      if (record.length !== header.length) {
        row.fieldCountError = `has ${record.length} fields but the header has ${header.length}`;
      }
      last = row;
      yield row;
    }
  } catch (err) {
    if (err instanceof RostersyncError) throw err;
    throw fileError(file, parserMessage(err), err);
  } finally {
    input.destroy();
    decoder.destroy();
  }
  if (header === null) throw fileError(file, 'has no header row');
  // A file cut off mid-row (an upload still running, a half-copied file) ends without a line break
  // in a row that is short of fields. Its missing rows must not count as absent people.
  if (last?.fieldCountError && decoder.lastByte !== 0x0a && decoder.lastByte !== 0x0d) {
    throw fileError(
      file,
      `line ${last.line}: the file ends in the middle of a row (${last.fieldCountError}); it looks truncated or still uploading, so it was not applied`,
    );
  }
}
