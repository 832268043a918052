import { randomFillSync } from 'node:crypto';

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Makes a generator of time-ordered UUIDs (version 7: 48-bit Unix ms, a 12-bit sequence within the
 * millisecond, 62 random bits). New accounts get ascending ids, so a batch of them lands at the end
 * of the id indexes instead of dirtying pages all over them, as random (v4) ids would, which makes
 * commits of large batches much slower. Still unguessable enough for an opaque id; not a secret.
 *
 * Each generator keeps its own clock: its ids ascend, also when `clock` stands still or goes back
 * (a millisecond's 4,097th id borrows the next millisecond). Two generators' ids are unique (the
 * random bits) but not ordered among themselves within a millisecond. `clock` defaults to Date.now.
 */
export function createUuidv7(clock: () => number = Date.now): () => string {
  let lastMs = 0;
  let seq = 0;
  /** Random bytes drawn 4 KB at a time: one call into the CSPRNG per 256 ids instead of per id. */
  const pool = Buffer.alloc(4096);
  let poolAt = pool.length;
  const text = Buffer.alloc(36);
  return () => {
    let now = clock();
    if (now <= lastMs) {
      seq = (seq + 1) & 0xfff;
      if (seq === 0) lastMs++; // 4096 ids in one ms: borrow the next millisecond
      now = lastMs;
    } else {
      lastMs = now;
      seq = 0;
    }
    if (poolAt + 16 > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    // The 16 bytes are this id's own slot of the pool: the time and version go in place, and the
    // text is written into one reused buffer, so an id costs one string (a sync makes one per account).
    const at = poolAt;
    poolAt += 16;
    pool.writeUIntBE(now, at, 6);
    pool[at + 6] = 0x70 | (seq >> 8);
    pool[at + 7] = seq & 0xff;
    pool[at + 8] = 0x80 | (pool[at + 8]! & 0x3f);
    let o = 0;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d;
      const byte = pool[at + i]!;
      text[o++] = HEX[byte >> 4]!;
      text[o++] = HEX[byte & 0xf]!;
    }
    return text.toString('latin1', 0, 36);
  };
}
