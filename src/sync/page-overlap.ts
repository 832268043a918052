import type { ProvisionBatch } from '../accounts/provision-batch.js';

/** What a page whose transaction overlaps the previous page's waits for (see PageOverlap). */
export interface PageTurn {
  /** The previous page of the stream, applied (committed) or failed; null for the first. */
  before: Promise<void> | null;
  /** The provisioning gate (see ProvisionBatch.gate). */
  gate: NonNullable<ProvisionBatch['gate']>;
}

/**
 * The pages of one stream in flight. A page's transaction runs while the next page is prepared
 * (CPU), so the database and this process work at the same time; at `depth` 2 two pages'
 * transactions are in flight at once (where the database runs transactions side by side and the
 * stream's pages cover disjoint id ranges: see the run's overlap rule).
 *
 * Invariant, for pages started in order p1, p2, … at depth 2:
 * - at most `depth` pages are in flight: p(n+2) starts only once p(n) has settled;
 * - pages decide in order: p(n+1)'s `gate.previousDecided` settles only once p(n) has decided, so
 *   p(n+1) sees every key p(n) has recorded (see ProvisionBatch.known);
 * - a page reads what the previous one writes only once it has committed: `before` and
 *   `gate.previousCommitted` are p(n)'s apply itself, so the run's shared rows (checkpoint,
 *   problems, progress) are also written in page order;
 * - a failing page never blocks the next forever: a page that settles without deciding counts as
 *   decided.
 * At depth 1 a page starts once the previous one has settled, and gets no turn (null).
 */
export class PageOverlap {
  private readonly inFlight: Array<Promise<void>> = [];
  private lastDecided: Promise<void> = Promise.resolve();

  constructor(readonly depth: number) {}

  /**
   * Starts the next page: waits until fewer than `depth` pages are in flight, then calls `apply`
   * with the page's turn. Rejects if the page that had to end first failed.
   */
  async start(apply: (turn: PageTurn | null) => Promise<void>): Promise<void> {
    while (this.inFlight.length >= this.depth) await this.inFlight.shift();
    let turn: PageTurn | null = null;
    let decided: () => void = () => undefined;
    if (this.depth > 1) {
      const previousDecided = this.lastDecided;
      this.lastDecided = new Promise<void>((resolve) => (decided = resolve));
      const before = this.inFlight[this.inFlight.length - 1] ?? null;
      turn = { before, gate: { previousDecided, previousCommitted: before ?? Promise.resolve(), decided } };
    }
    const applied = apply(turn);
    // Whatever happens to this page, the next one must not wait for its decisions forever.
    void applied.finally(decided).catch(() => undefined);
    applied.catch(() => undefined); // awaited by start or drain; never unhandled
    this.inFlight.push(applied);
  }

  /** Waits for every page in flight, in order; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /** Waits for every page still in flight to end, failed or not (after a failure). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }
}
