// Seeded, allocation-light randomness. Every generated record is a pure function of
// (seed, district, collection, key), so the simulator never needs to remember what it generated:
// the hash of those inputs seeds a small PRNG that draws the record's fields in a fixed order.

const TWO_32 = 4294967296;

/** murmur3's 32-bit finaliser: a cheap bijective mix with good avalanche. */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of two 32-bit values. */
export function hash2(a: number, b: number): number {
  return mix32(mix32(a) ^ Math.imul(b | 0, 0x9e3779b1) ^ 0x27d4eb2f);
}

/** Hash of a 32-bit salt and a key up to 2^53 (keys encode day, block and index, see ids.ts). */
export function hashKey(salt: number, key: number): number {
  const lo = key % TWO_32;
  const hi = (key - lo) / TWO_32;
  return mix32(hash2(salt, lo) + Math.imul(hi | 0, 0x85ebca6b));
}

/** Uniform [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return (h >>> 0) / TWO_32;
}

/** mulberry32: tiny and fast; fine for test data (not for anything secret). */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('Rng.pick on an empty list');
    return item;
  }

  /** Decimal digits, leading zeros kept. */
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(Math.floor(this.next() * 10));
    return s;
  }
}
