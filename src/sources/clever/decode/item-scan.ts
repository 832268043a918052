import { nextLink } from './clever-list.js';

/**
 * A structural scan of a Clever list body: where each item of `data` starts and ends, each item's
 * id, and the `next` link, without building any of the items. A no-change re-sync uses it to find
 * the items whose bytes are the same as when their record was stored (see page-decoder.ts
 * rawItemHash), and so need no parsing, mapping or hashing at all.
 *
 * The scan follows JSON's grammar for structure (objects, arrays, strings with their escapes,
 * commas and colons) and reads where scalars end without checking their spelling: a body it
 * accepts that JSON.parse would not can only differ inside an item, whose bytes then match no
 * stored item and are decoded (and rejected) the usual way. Duplicate keys resolve as JSON.parse
 * resolves them: the last one wins.
 */

export interface ScannedList {
  /** Per item, its bytes: `start[i]` up to `end[i]` (the whole `{"data": …, "uri": …}` object). */
  start: Int32Array;
  end: Int32Array;
  /** Per item, the `id` string of its `data` object, or null when it has none. */
  ids: Array<string | null>;
  next: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

class Malformed extends Error {}

/** Scans a list body (see {@link ScannedList}); null when it is not one (it is then decoded in full). */
export function scanListItems(bytes: Uint8Array): ScannedList | null {
  try {
    return new Scanner(bytes).list();
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}

class Scanner {
  private at = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.buf.length >= 3 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf)
      this.at = 3;
  }

  list(): ScannedList {
    let items: { start: number[]; end: number[]; ids: Array<string | null> } | null = null;
    let links: [number, number] | null = null;
    this.expect(OPEN_OBJECT);
    this.members((keyStart, keyEnd) => {
      if (this.keyIs(keyStart, keyEnd, 'data')) items = this.items();
      else if (this.keyIs(keyStart, keyEnd, 'links')) {
        const s = this.at;
        this.value();
        links = [s, this.at];
      } else this.value();
    });
    this.ws();
    if (this.at !== this.buf.length) throw new Malformed();
    if (!items) throw new Malformed();
    const found = items as { start: number[]; end: number[]; ids: Array<string | null> };
    const span = links as [number, number] | null;
    let next: string | null = null;
    if (span) {
      try {
        next = nextLink(JSON.parse(this.buf.toString('utf8', span[0], span[1])));
      } catch {
        throw new Malformed();
      }
    }
    return { start: new Int32Array(found.start), end: new Int32Array(found.end), ids: found.ids, next };
  }

  /** The `data` array: each item's span and id. */
  private items(): { start: number[]; end: number[]; ids: Array<string | null> } {
    const out = { start: [] as number[], end: [] as number[], ids: [] as Array<string | null> };
    this.ws();
    if (this.buf[this.at] !== OPEN_ARRAY) {
      this.value(); // not a list: the decoder reports it
      throw new Malformed();
    }
    this.at++;
    this.ws();
    if (this.buf[this.at] === CLOSE_ARRAY) {
      this.at++;
      return out;
    }
    for (;;) {
      this.ws();
      const start = this.at;
      let id: string | null = null;
      if (this.buf[this.at] === OPEN_OBJECT) {
        this.at++;
        this.members((keyStart, keyEnd) => {
          if (this.keyIs(keyStart, keyEnd, 'data')) id = this.dataId();
          else this.value();
        });
      } else this.value();
      out.start.push(start);
      out.end.push(this.at);
      out.ids.push(id);
      this.ws();
      const c = this.buf[this.at++];
      if (c === CLOSE_ARRAY) return out;
      if (c !== COMMA) throw new Malformed();
    }
  }

  /** An item's `data` value: its `id` when it is an object with a string id, else null. */
  private dataId(): string | null {
    this.ws();
    if (this.buf[this.at] !== OPEN_OBJECT) {
      this.value();
      return null;
    }
    this.at++;
    let id: string | null = null;
    this.members((keyStart, keyEnd) => {
      this.ws();
      if (this.keyIs(keyStart, keyEnd, 'id') && this.buf[this.at] === QUOTE) {
        const s = this.at;
        this.string();
        id = this.text(s, this.at);
      } else {
        if (this.keyIs(keyStart, keyEnd, 'id')) id = null;
        this.value();
      }
    });
    return id;
  }

  /**
   * The members of an object whose `{` was just read, up to and including its `}`: for each, the
   * span of its key (quotes included) is passed to `onMember`, which must read the value.
   */
  private members(onMember: (keyStart: number, keyEnd: number) => void): void {
    this.ws();
    if (this.buf[this.at] === CLOSE_OBJECT) {
      this.at++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.buf[this.at] !== QUOTE) throw new Malformed();
      const keyStart = this.at;
      this.string();
      const keyEnd = this.at;
      this.ws();
      if (this.buf[this.at++] !== COLON) throw new Malformed();
      onMember(keyStart, keyEnd);
      this.ws();
      const c = this.buf[this.at++];
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) throw new Malformed();
    }
  }

  /** Whether the key token at `s`..`e` (quotes included) is `name`, escapes read as JSON reads them. */
  private keyIs(s: number, e: number, name: string): boolean {
    if (e - s === name.length + 2) {
      for (let i = 0; i < name.length; i++) if (this.buf[s + 1 + i] !== name.charCodeAt(i)) return false;
      return true;
    }
    // Longer: only an escaped spelling of the name can still be it.
    return this.escaped(s, e) && this.text(s, e) === name;
  }

  /** Whether the token at `s`..`e` holds a backslash. */
  private escaped(s: number, e: number): boolean {
    for (let i = s; i < e; i++) if (this.buf[i] === BACKSLASH) return true;
    return false;
  }

  /** The string token at `s`..`e` (quotes included), decoded. */
  private text(s: number, e: number): string {
    if (!this.escaped(s, e)) return this.buf.toString('utf8', s + 1, e - 1);
    try {
      return JSON.parse(this.buf.toString('utf8', s, e)) as string;
    } catch {
      throw new Malformed();
    }
  }

  /** Skips any value. */
  private value(): void {
    this.ws();
    const c = this.buf[this.at];
    if (c === QUOTE) return this.string();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) return this.nested();
    // A scalar: up to the next structural character or whitespace.
    const s = this.at;
    for (;;) {
      const b = this.buf[this.at];
      if (
        b === undefined ||
        b === COMMA ||
        b === CLOSE_OBJECT ||
        b === CLOSE_ARRAY ||
        b === 0x20 ||
        b === 0x0a ||
        b === 0x0d ||
        b === 0x09
      )
        break;
      if (b === QUOTE || b === OPEN_OBJECT || b === OPEN_ARRAY || b === COLON) throw new Malformed();
      this.at++;
    }
    if (this.at === s) throw new Malformed();
  }

  /**
   * Skips an object or array by counting brackets outside strings. Its inner structure is not
   * checked: see the note at the top of this file.
   */
  private nested(): void {
    const buf = this.buf;
    const n = buf.length;
    let depth = 0;
    let at = this.at;
    while (at < n) {
      const b = buf[at]!;
      if (b === QUOTE) {
        this.at = at;
        this.string();
        at = this.at;
        continue;
      }
      at++;
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
      else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (--depth === 0) {
          this.at = at;
          return;
        }
      }
    }
    throw new Malformed();
  }

  /** Skips a string token whose opening quote is at `at`. */
  private string(): void {
    const buf = this.buf;
    let at = this.at + 1;
    for (;;) {
      const q = buf.indexOf(QUOTE, at);
      if (q < 0) throw new Malformed();
      // The quote closes the string unless an odd run of backslashes comes right before it.
      let bs = 0;
      while (buf[q - 1 - bs] === BACKSLASH) bs++;
      if (bs % 2 === 0) {
        this.at = q + 1;
        return;
      }
      at = q + 1;
    }
  }

  private ws(): void {
    const buf = this.buf;
    for (;;) {
      const b = buf[this.at];
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) this.at++;
      else return;
    }
  }

  private expect(c: number): void {
    this.ws();
    if (this.buf[this.at++] !== c) throw new Malformed();
  }
}
