/**
 * A set of record ids kept as 53-bit hashes instead of strings: about a quarter of the memory of a
 * Set<string> of 24-character ids (measured ~20 vs ~80 bytes an id), for the "seen this run" set of
 * unordered streams (CSV files, multi-role staff walks).
 *
 * A hash collision can only make an absent id look present, so the one effect is that a record is
 * not archived this run (the safe direction: nobody is wrongly deactivated). The chance is about
 * n²/2⁵⁴ per run (≈1e-5 for 500,000 ids).
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
  private readonly set = new Set<number>();

  add(id: string): void {
    this.set.add(keyHash(id));
  }

  has(id: string): boolean {
    return this.set.has(keyHash(id));
  }

  get size(): number {
    return this.set.size;
  }
}
