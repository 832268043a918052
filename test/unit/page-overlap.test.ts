import { describe, expect, it } from 'vitest';
import { PageOverlap } from '../../src/sync/page-overlap.js';
import type { PageTurn } from '../../src/sync/page-overlap.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `p` has settled (resolved or rejected) by now. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await flush();
  return done;
}

/** A page under test: its turn, and the promise its apply returns (settled by the test). */
interface Page {
  turn: PageTurn | null;
  applied: ReturnType<typeof deferred>;
  started: boolean;
}

function page(): Page & { apply: (turn: PageTurn | null) => Promise<void> } {
  const p: Page = { turn: null, applied: deferred(), started: false };
  return Object.assign(p, {
    apply: (turn: PageTurn | null) => {
      p.turn = turn;
      p.started = true;
      return p.applied.promise;
    },
  });
}

describe('PageOverlap', () => {
  it('pages decide in order: a page decides only after the previous one has decided', async () => {
    const overlap = new PageOverlap(2);
    const p1 = page();
    const p2 = page();
    await overlap.start(p1.apply);
    await overlap.start(p2.apply);
    expect(await settled(p1.turn!.gate.previousDecided)).toBe(true);
    expect(await settled(p2.turn!.gate.previousDecided)).toBe(false);
    p1.turn!.gate.decided();
    expect(await settled(p2.turn!.gate.previousDecided)).toBe(true);
    p1.applied.resolve();
    p2.applied.resolve();
    await overlap.drain();
  });

  it('a page reads the store only after the previous one has committed, not when it has decided', async () => {
    const overlap = new PageOverlap(2);
    const p1 = page();
    const p2 = page();
    await overlap.start(p1.apply);
    expect(p1.turn!.before).toBeNull();
    await overlap.start(p2.apply);
    p1.turn!.gate.decided();
    expect(await settled(p2.turn!.gate.previousCommitted)).toBe(false);
    expect(await settled(p2.turn!.before!)).toBe(false);
    p1.applied.resolve();
    expect(await settled(p2.turn!.gate.previousCommitted)).toBe(true);
    expect(await settled(p2.turn!.before!)).toBe(true);
    p2.applied.resolve();
    await overlap.drain();
  });

  it('holds at most `depth` pages in flight', async () => {
    const overlap = new PageOverlap(2);
    const [p1, p2, p3] = [page(), page(), page()];
    await overlap.start(p1.apply);
    await overlap.start(p2.apply);
    const third = overlap.start(p3.apply);
    await flush();
    expect(p3.started).toBe(false);
    p2.applied.resolve(); // a later page ending first frees no slot: pages end in order
    await flush();
    expect(p3.started).toBe(false);
    p1.applied.resolve();
    await third;
    expect(p3.started).toBe(true);
    p3.applied.resolve();
    await overlap.drain();
  });

  it('a failing page never blocks the next forever, and the failure reaches the stream', async () => {
    const overlap = new PageOverlap(2);
    const [p1, p2, p3] = [page(), page(), page()];
    await overlap.start(p1.apply);
    await overlap.start(p2.apply);
    p1.applied.reject(new Error('page 1 failed')); // before it decided
    expect(await settled(p2.turn!.gate.previousDecided)).toBe(true);
    expect(await settled(p2.turn!.gate.previousCommitted)).toBe(true);
    await expect(overlap.start(p3.apply)).rejects.toThrow('page 1 failed');
    expect(p3.started).toBe(false);
    p2.applied.resolve();
    await overlap.settled();
  });

  it('at depth 1 a page gets no turn and starts once the previous one has ended', async () => {
    const overlap = new PageOverlap(1);
    const [p1, p2] = [page(), page()];
    await overlap.start(p1.apply);
    expect(p1.turn).toBeNull();
    const second = overlap.start(p2.apply);
    await flush();
    expect(p2.started).toBe(false);
    p1.applied.resolve();
    await second;
    expect(p2.started).toBe(true);
    expect(p2.turn).toBeNull();
    p2.applied.resolve();
    await overlap.drain();
  });
});
