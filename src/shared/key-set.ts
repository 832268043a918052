/**
 * A set of strings kept as 53-bit hashes instead of strings, for the large "seen this run" sets of a
 * sync (ids of unordered streams, identity values provisioned this run).
 *
 * The hashes live in one open-addressing table in a Float64Array: 8 bytes a slot, at most 3/4 full,
 * so 11-21 bytes an entry, and nothing the garbage collector has to walk (a Set<number> of hashes
 * holds one heap object per entry, and every full collection marks them all).
 *
 * A hash collision can only make an absent string look present. Every user treats "present" as
 * "maybe" (an id that is not archived this run, an identity that is looked up in the store), so a
 * collision costs a little work and is never wrong. The chance is about n²/2⁵⁴ per run (≈1e-5 for
 * 500,000 strings).
 */
export function keyHash(s: string): number {
  // Two independent 32-bit FNV-1a style hashes combined into 53 bits.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

export class KeySet {
  private slots = new Float64Array(1024);
  private count = 0;

  add(key: string): void {
    if ((this.count + 1) * 4 > this.slots.length * 3) this.grow();
    if (KeySet.insert(this.slots, keyHash(key) || 1)) this.count++;
  }

  has(key: string): boolean {
    const h = keyHash(key) || 1;
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = h % slots.length; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === h) return true;
      if (v === 0) return false;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Puts `h` (non-zero) into `slots` (a power-of-two table with room); false when already there. */
  private static insert(slots: Float64Array, h: number): boolean {
    const mask = slots.length - 1;
    for (let i = h % slots.length; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === h) return false;
      if (v === 0) {
        slots[i] = h;
        return true;
      }
    }
  }

  private grow(): void {
    const next = new Float64Array(this.slots.length * 2);
    for (const v of this.slots) if (v !== 0) KeySet.insert(next, v);
    this.slots = next;
  }
}
