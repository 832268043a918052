/**
 * The order in which batches decide accounts, when their transactions run side by side.
 *
 * Provisioning a batch has two halves: it *decides* (reads the accounts that hold its keys and
 * emails, and chooses for each record: link, create, conflict, shared email), then it *writes*. Two
 * batches that decide at the same time each miss the accounts the other is about to create: a
 * student and a staff member with one email, first seen in batches of two streams at once, would
 * each keep it as a login identity. So batches that run side by side decide one after another, and
 * a batch reads only once every batch that decided before it has committed.
 *
 * Two orders are kept, and a batch honours both:
 * - within a stream (see {@link StreamGate}): when a stream keeps two page transactions in flight,
 *   a page decides after the page before it has decided, and reads after that page has committed;
 * - across the run (see {@link DecisionOrder}): on PostgreSQL streams commit side by side; a batch
 *   decides after every batch that took a turn before it has decided, and reads once every other
 *   batch that has decided has committed.
 *
 * Why no cycle of waits can form. Every wait is on a batch that is earlier in one order:
 * 1. a batch takes its run-wide turn only after the batch before it in its own stream has decided,
 *    so the run's order never contradicts a stream's;
 * 2. before deciding, a batch waits only on batches that decide before it (its stream's previous
 *    page, and the turns taken before its own), and on the commit of batches that have already
 *    decided;
 * 3. between taking its turn and deciding a batch only reads: it holds no row lock that a batch it
 *    waits for could need;
 * 4. a batch that has decided waits for nobody's decision and looks nothing up any more, so it goes
 *    on to commit (or fail) and release those that wait for its commit.
 * A wait therefore always points at a batch strictly earlier in the run's order, or at one that has
 * decided and only has to finish: the waits form a chain, never a cycle. Every wait ends even when a
 * batch fails: `decided` is called whatever happens, and the promises waited on for commits settle
 * (and are waited on without rejecting) when a transaction ends either way.
 */

/**
 * A stream's order, set up by the sync when two page transactions of a stream are in flight: this
 * batch decides after the previous page has decided (and recorded its keys in the run's known
 * identities), and reads accounts from the store only once the previous page has committed.
 */
export interface StreamGate {
  previousDecided: Promise<unknown>;
  previousCommitted: Promise<unknown>;
  /** Called when this batch has decided, whatever happens. */
  decided: () => void;
}

/** A batch's place in a {@link DecisionOrder}. */
export interface Turn {
  /** Settles when every batch that took a turn before this one has decided. */
  previous: Promise<void>;
  /** This batch has decided (idempotent). */
  decided: () => void;
  /** Settles when every other batch that has decided has also ended its transaction. */
  othersCommitted: () => Promise<void>;
}

/** The run-wide order in which batches decide their accounts, across streams (see the file's comment). */
export class DecisionOrder {
  private last: Promise<void> = Promise.resolve();
  private readonly uncommitted = new Set<Promise<void>>();

  /** `ended` settles (never rejects) when the batch's transaction has ended, committed or not. */
  take(ended: Promise<void>): Turn {
    const previous = this.last;
    let signal!: () => void;
    this.last = new Promise<void>((resolve) => (signal = resolve));
    let done = false;
    return {
      previous,
      decided: () => {
        if (done) return;
        done = true;
        this.uncommitted.add(ended);
        void ended.then(() => this.uncommitted.delete(ended));
        signal();
      },
      othersCommitted: async () => {
        await Promise.all([...this.uncommitted].filter((p) => p !== ended));
      },
    };
  }
}

/**
 * One batch's waits under both orders: {@link enter} before it decides anything, {@link settled}
 * before it reads keys and emails another batch may be writing, {@link decided} once its decisions
 * are recorded (idempotent; call it in a `finally` so that no later batch waits forever).
 */
export class BatchGate {
  private turn: Turn | null = null;
  private done = false;

  constructor(
    private readonly stream: StreamGate | null,
    private readonly order: { decisions: DecisionOrder; ended: Promise<void> } | null,
  ) {}

  /** Waits for this batch's turn: after its stream's previous page, then after the run's earlier turns. */
  async enter(): Promise<void> {
    await this.stream?.previousDecided.catch(() => undefined);
    // The turn is taken once the batch before it in its own stream has decided, so the run's order
    // never contradicts a stream's own (point 1 of the file's comment).
    this.turn = this.order ? this.order.decisions.take(this.order.ended) : null;
    await this.turn?.previous;
  }

  /** Waits until every batch that decided before this one has committed (or failed). */
  async settled(): Promise<void> {
    if (this.stream) await this.stream.previousCommitted.catch(() => undefined);
    if (this.turn) await this.turn.othersCommitted();
  }

  decided(): void {
    if (this.done) return;
    this.done = true;
    this.stream?.decided();
    this.turn?.decided();
  }
}
