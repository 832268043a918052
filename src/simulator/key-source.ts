// Ordered key sequences for cursor paging. A list endpoint is a KeySource: a lazy, ascending
// sequence of record keys that can start after any cursor and walk either way, so a page at any
// depth costs O(page) (plus skipping whole dead blocks), never O(collection).

export interface KeySource {
  /** Keys strictly greater than `after`, ascending. */
  asc(after: number): Iterator<number>;
  /** Keys strictly less than `before`, descending. */
  desc(before: number): Iterator<number>;
}

const EMPTY: Iterator<number> = { next: () => ({ done: true, value: undefined }) };

export const emptySource: KeySource = { asc: () => EMPTY, desc: () => EMPTY };

/** A sorted array of keys. */
export class ArraySource implements KeySource {
  constructor(private readonly keys: readonly number[]) {}

  *asc(after: number): Iterator<number> {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.keys[mid] ?? 0) <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.keys.length; i++) yield this.keys[i] as number;
  }

  *desc(before: number): Iterator<number> {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.keys[mid] ?? 0) < before) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i--) yield this.keys[i] as number;
  }
}

/**
 * Keys base + i for i in [lo, hi) that pass `accept`. `nextLive(i)` may jump forward over a dead
 * stretch (it returns the first index >= i worth testing) and `prevLive(i)` backward (the last
 * index <= i worth testing); both default to the identity.
 */
export class RangeSource implements KeySource {
  constructor(
    private readonly base: number,
    private readonly lo: number,
    private readonly hi: number,
    private readonly accept: (i: number) => boolean = () => true,
    private readonly nextLive: (i: number) => number = (i) => i,
    private readonly prevLive: (i: number) => number = (i) => i,
  ) {}

  *asc(after: number): Iterator<number> {
    const from = after < this.base + this.lo ? this.lo : Math.min(this.hi, Math.floor(after - this.base) + 1);
    let i = from;
    while (i < this.hi) {
      const j = this.nextLive(i);
      if (j >= this.hi) return;
      if (j > i) {
        i = j;
        continue;
      }
      if (this.accept(i)) yield this.base + i;
      i++;
    }
  }

  *desc(before: number): Iterator<number> {
    const from = before > this.base + this.hi - 1 ? this.hi - 1 : Math.ceil(before - this.base) - 1;
    let i = Math.min(from, this.hi - 1);
    while (i >= this.lo) {
      const j = this.prevLive(i);
      if (j < this.lo) return;
      if (j < i) {
        i = j;
        continue;
      }
      if (this.accept(i)) yield this.base + i;
      i--;
    }
  }
}

/** Keys base + i for i in [lo, hi) with i ≡ rem (mod mod) that pass `accept`. */
export class StrideSource implements KeySource {
  constructor(
    private readonly base: number,
    private readonly lo: number,
    private readonly hi: number,
    private readonly mod: number,
    private readonly rem: number,
    private readonly accept: (i: number) => boolean = () => true,
  ) {}

  *asc(after: number): Iterator<number> {
    let i = after < this.base + this.lo ? this.lo : Math.floor(after - this.base) + 1;
    const r = (((i - this.rem) % this.mod) + this.mod) % this.mod;
    if (r !== 0) i += this.mod - r;
    for (; i < this.hi; i += this.mod) if (this.accept(i)) yield this.base + i;
  }

  *desc(before: number): Iterator<number> {
    let i = before > this.base + this.hi - 1 ? this.hi - 1 : Math.ceil(before - this.base) - 1;
    const r = (((i - this.rem) % this.mod) + this.mod) % this.mod;
    i -= r;
    for (; i >= this.lo; i -= this.mod) if (this.accept(i)) yield this.base + i;
  }
}

/** Concatenation of sources whose key ranges are disjoint and given in ascending order. */
export class ConcatSource implements KeySource {
  constructor(private readonly parts: readonly KeySource[]) {}

  *asc(after: number): Iterator<number> {
    for (const p of this.parts) {
      const it = p.asc(after);
      for (let r = it.next(); !r.done; r = it.next()) yield r.value;
    }
  }

  *desc(before: number): Iterator<number> {
    for (let k = this.parts.length - 1; k >= 0; k--) {
      const it = (this.parts[k] as KeySource).desc(before);
      for (let r = it.next(); !r.done; r = it.next()) yield r.value;
    }
  }
}

/** Keys of `inner` that pass `accept`. */
export class FilterSource implements KeySource {
  constructor(
    private readonly inner: KeySource,
    private readonly accept: (key: number) => boolean,
  ) {}

  *asc(after: number): Iterator<number> {
    const it = this.inner.asc(after);
    for (let r = it.next(); !r.done; r = it.next()) if (this.accept(r.value)) yield r.value;
  }

  *desc(before: number): Iterator<number> {
    const it = this.inner.desc(before);
    for (let r = it.next(); !r.done; r = it.next()) if (this.accept(r.value)) yield r.value;
  }
}

export interface KeyPage {
  keys: number[];
  hasNext: boolean;
  hasPrev: boolean;
}

/**
 * One page: `limit` keys after `after` (or, with `before`, the `limit` keys just before it, still in
 * ascending order), plus whether anything lies beyond either end.
 */
export function takePage(
  src: KeySource,
  limit: number,
  after: number | null,
  before: number | null,
): KeyPage {
  const keys: number[] = [];
  if (before !== null) {
    const hasPrev = fill(keys, src.desc(before), limit);
    keys.reverse();
    const last = keys[keys.length - 1];
    const hasNext = last !== undefined ? !src.asc(last).next().done : !src.asc(before - 1).next().done;
    return { keys, hasNext, hasPrev };
  }
  const start = after ?? -1;
  const hasNext = fill(keys, src.asc(start), limit);
  const first = keys[0];
  const hasPrev =
    after === null
      ? false
      : first !== undefined
        ? !src.desc(first).next().done
        : !src.desc(start + 1).next().done;
  return { keys, hasNext, hasPrev };
}

/**
 * Appends keys of `it` to `keys` until it holds `limit`; true when `it` had more (the one key read
 * past the limit says so, and is dropped).
 */
function fill(keys: number[], it: Iterator<number>, limit: number): boolean {
  let r = it.next();
  while (!r.done && keys.length < limit) {
    keys.push(r.value);
    r = it.next();
  }
  return !r.done;
}
