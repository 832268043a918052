import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let seq = 0;
/** Random bytes drawn 4 KB at a time: one call into the CSPRNG per 256 ids instead of per id. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/**
 * A time-ordered UUID (version 7: 48-bit Unix ms, a 12-bit sequence within the millisecond, 62
 * random bits). New accounts get ascending ids, so a batch of them lands at the end of the id
 * indexes instead of dirtying pages all over them (random v4 ids made commits of large batches
 * several times slower). Still unguessable enough for an opaque id; not a secret.
 */
export function uuidv7(now: number = Date.now()): string {
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
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
