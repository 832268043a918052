import { describe, expect, it } from 'vitest';
import { BatchGate, DecisionOrder } from '../../src/accounts/decision-order.js';
import type { StreamGate } from '../../src/accounts/decision-order.js';

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every queued promise reaction run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** Whether `p` has settled, once the queued reactions have run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  return settled;
}

describe('DecisionOrder', () => {
  it('lets a batch decide only after every batch that took a turn before it has decided', async () => {
    const order = new DecisionOrder();
    const a = order.take(deferred().promise);
    const b = order.take(deferred().promise);
    const c = order.take(deferred().promise);
    expect(await isSettled(a.previous)).toBe(true);
    expect(await isSettled(b.previous)).toBe(false);
    expect(await isSettled(c.previous)).toBe(false);
    a.decided();
    expect(await isSettled(b.previous)).toBe(true);
    expect(await isSettled(c.previous)).toBe(false);
    b.decided();
    b.decided(); // idempotent
    expect(await isSettled(c.previous)).toBe(true);
  });

  it('makes a batch read only once every other batch that has decided has ended its transaction', async () => {
    const order = new DecisionOrder();
    const aEnded = deferred();
    const bEnded = deferred();
    const cEnded = deferred();
    const a = order.take(aEnded.promise);
    const b = order.take(bEnded.promise);
    const c = order.take(cEnded.promise);
    // Nobody has decided: nothing to wait for.
    expect(await isSettled(c.othersCommitted())).toBe(true);
    a.decided();
    // A batch never waits for its own transaction, only for the others that have decided.
    expect(await isSettled(a.othersCommitted())).toBe(true);
    expect(await isSettled(c.othersCommitted())).toBe(false);
    b.decided();
    const cWaits = c.othersCommitted();
    aEnded.resolve();
    expect(await isSettled(a.othersCommitted())).toBe(false); // b still open
    expect(await isSettled(cWaits)).toBe(false);
    bEnded.resolve();
    expect(await isSettled(cWaits)).toBe(true);
    expect(await isSettled(a.othersCommitted())).toBe(true);
    // A batch that took a turn but has not decided holds nobody's reads back.
    const d = order.take(deferred().promise);
    expect(await isSettled(d.othersCommitted())).toBe(true);
  });
});

describe('BatchGate', () => {
  it('takes the run-wide turn only after the stream’s previous page has decided', async () => {
    const order = new DecisionOrder();
    const previousDecided = deferred();
    const stream: StreamGate = {
      previousDecided: previousDecided.promise,
      previousCommitted: Promise.resolve(),
      decided: () => undefined,
    };
    const late = new BatchGate(stream, { decisions: order, ended: deferred().promise });
    const lateEntered = late.enter();
    // Another stream's batch comes in while `late` waits for its stream: it takes the earlier turn.
    const other = new BatchGate(null, { decisions: order, ended: deferred().promise });
    await other.enter();
    expect(await isSettled(lateEntered)).toBe(false);
    previousDecided.resolve();
    expect(await isSettled(lateEntered)).toBe(false); // now behind `other`
    other.decided();
    expect(await isSettled(lateEntered)).toBe(true);
  });

  it('reads only once the stream’s previous page has committed', async () => {
    const committed = deferred();
    const gate = new BatchGate(
      { previousDecided: Promise.resolve(), previousCommitted: committed.promise, decided: () => undefined },
      null,
    );
    await gate.enter();
    const reads = gate.settled();
    expect(await isSettled(reads)).toBe(false);
    committed.resolve();
    expect(await isSettled(reads)).toBe(true);
  });

  it('tells the stream and the run once, and waits for a previous page that failed', async () => {
    let told = 0;
    const failed = Promise.reject(new Error('page failed'));
    failed.catch(() => undefined);
    const gate = new BatchGate(
      { previousDecided: failed, previousCommitted: failed, decided: () => told++ },
      null,
    );
    await gate.enter();
    await gate.settled();
    gate.decided();
    gate.decided();
    expect(told).toBe(1);
  });

  it('never deadlocks, and keeps both orders, however two overlapping streams interleave', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      let s = seed;
      /** A few event-loop turns, chosen by a small deterministic generator. */
      const pause = async () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        for (let i = s % 4; i > 0; i--) await flush();
      };
      const order = new DecisionOrder();
      const decidedAt: Array<{ stream: number; page: number; turn: number }> = [];
      let turns = 0;
      const endedSet = new Set<string>();
      const runStream = async (stream: number, pages: number) => {
        // What run-sync does with two page transactions in flight: each page is gated on the one before.
        let lastDecided: Promise<void> = Promise.resolve();
        let lastApplied: Promise<void> = Promise.resolve();
        const inFlight: Array<Promise<void>> = [];
        for (let page = 0; page < pages; page++) {
          while (inFlight.length >= 2) await inFlight.shift();
          const mine = deferred();
          const stream_: StreamGate = {
            previousDecided: lastDecided,
            previousCommitted: lastApplied,
            decided: mine.resolve,
          };
          lastDecided = mine.promise;
          const ended = deferred();
          const applied = (async () => {
            await pause();
            const gate = new BatchGate(stream_, { decisions: order, ended: ended.promise });
            try {
              await gate.enter();
              const turn = turns++;
              await pause();
              await gate.settled();
              // Everyone that decided before this batch has ended by the time it reads.
              for (const d of decidedAt) expect(endedSet.has(`${d.stream}:${d.page}`)).toBe(true);
              await pause();
              decidedAt.push({ stream, page, turn });
              gate.decided();
              await pause();
            } finally {
              endedSet.add(`${stream}:${page}`);
              ended.resolve();
            }
          })();
          lastApplied = applied;
          inFlight.push(applied);
        }
        await Promise.all(inFlight);
      };
      const all = Promise.all([runStream(0, 5), runStream(1, 5), runStream(2, 3)]);
      const outcome = await Promise.race([
        all.then(() => 'done'),
        new Promise((r) => setTimeout(() => r('deadlock'), 2000)),
      ]);
      expect(outcome).toBe('done');
      // Decisions follow the run's turns, and each stream's pages decide in page order.
      expect(decidedAt.map((d) => d.turn)).toEqual(decidedAt.map((_, i) => i));
      for (const stream of [0, 1, 2]) {
        const pages = decidedAt.filter((d) => d.stream === stream).map((d) => d.page);
        expect(pages).toEqual([...pages].sort((x, y) => x - y));
      }
    }
  });
});
