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

/** Decodes UTF-8 strictly (rejecting invalid bytes and NULs) and reports the byte offset of a problem. */
class StrictUtf8 extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private offset = 0;
  constructor(private readonly file: string) {
    super({ readableObjectMode: false, decodeStrings: true, encoding: 'utf8' });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
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
      cb(
        fileError(
          this.file,
          `is not valid UTF-8 (near byte ${this.offset}); save it as UTF-8 (spreadsheets: "CSV UTF-8") and drop it again`,
          err,
        ),
      );
      return;
    }
    this.offset += chunk.length;
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
 * the file for problems with the file as a whole (encoding, structure, no header); a row whose
 * field count differs from the header is yielded with `fieldCountError` so the caller can skip and
 * report it.
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
  });
  const source = createReadStream(path).pipe(new StrictUtf8(file));
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let header: string[] | null = null;
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
      yield row;
    }
  } catch (err) {
    if (err instanceof RostersyncError) throw err;
    throw fileError(file, parserMessage(err), err);
  } finally {
    source.destroy();
  }
  if (header === null) throw fileError(file, 'has no header row');
}
