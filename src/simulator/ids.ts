// Record ids. Internally every record of a collection is a numeric key
//   key = day * 2^36 + block * 2^32 + index
// (day of creation, a sub-block such as the user role, and the index inside it). Its Clever id is
// 24 lowercase hex characters laid out like a Mongo ObjectId:
//   [8: creation time, Unix seconds][4: seed tag][2: district][1: collection][1: block][8: index]
// so ids sort exactly like keys inside one collection of one district (ascending creation order, as
// Clever's cursor paging expects), are unique across collections and districts, and can be decoded
// back to a key without any lookup table.

export const DAY_MULT = 2 ** 36;
export const BLOCK_MULT = 2 ** 32;

/** Collection codes (the 15th hex character of an id). */
export const COLL = {
  district: 1,
  school: 2,
  term: 3,
  course: 4,
  section: 5,
  user: 6,
  event: 7,
} as const;
export type CollCode = (typeof COLL)[keyof typeof COLL];

/**
 * User sub-blocks: users of one creation day are grouped by role. `rekeyed`: the new ids a re-key day
 * gave to existing people (see DistrictModel.rekeyedTo).
 */
export const BLOCK = { student: 0, teacher: 1, staff: 2, district_admin: 3, contact: 4, rekeyed: 5 } as const;

/** Day 0 of the simulated calendar: 2025-08-01T00:00:00Z (the summer before the school year). */
export const EPOCH_MS = Date.UTC(2025, 7, 1);
const EPOCH_S = EPOCH_MS / 1000;
export const DAY_MS = 86_400_000;

export function makeKey(day: number, block: number, index: number): number {
  return day * DAY_MULT + block * BLOCK_MULT + index;
}

export function keyDay(key: number): number {
  return Math.floor(key / DAY_MULT);
}

export function keyBlock(key: number): number {
  return Math.floor((key % DAY_MULT) / BLOCK_MULT);
}

export function keyIndex(key: number): number {
  return key % BLOCK_MULT;
}

const HEX_RE = /^[0-9a-f]{24}$/;

/** Encodes and decodes ids of one district. */
export class IdCodec {
  private readonly mid: string;
  private readonly dayHex: string[] = [];

  constructor(seedTag: number, district: number) {
    this.mid =
      (seedTag & 0xffff).toString(16).padStart(4, '0') + (district & 0xff).toString(16).padStart(2, '0');
  }

  private ts(day: number): string {
    let s = this.dayHex[day];
    if (s === undefined) {
      s = (EPOCH_S + day * 86_400).toString(16).padStart(8, '0');
      this.dayHex[day] = s;
    }
    return s;
  }

  encode(coll: CollCode, key: number): string {
    const day = Math.floor(key / DAY_MULT);
    const rest = key - day * DAY_MULT;
    const block = Math.floor(rest / BLOCK_MULT);
    const index = rest - block * BLOCK_MULT;
    return (
      this.ts(day) + this.mid + coll.toString(16) + block.toString(16) + index.toString(16).padStart(8, '0')
    );
  }

  /** The key of an id of this district and collection, or null if the id is not one. */
  decode(coll: CollCode, id: string): number | null {
    if (id.length !== 24 || !HEX_RE.test(id)) return null;
    if (id.slice(8, 14) !== this.mid || id.charCodeAt(14) !== coll.toString(16).charCodeAt(0)) return null;
    const secs = parseInt(id.slice(0, 8), 16) - EPOCH_S;
    if (secs < 0 || secs % 86_400 !== 0) return null;
    const block = parseInt(id.slice(15, 16), 16);
    const index = parseInt(id.slice(16), 16);
    return makeKey(secs / 86_400, block, index);
  }
}

/** ISO-8601 UTC timestamp with milliseconds, Clever's datetime format. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** Nightly SIS imports land at 02:00 UTC of a simulated day. */
export function dayStamp(day: number): number {
  return EPOCH_MS + day * DAY_MS + 2 * 3_600_000;
}
