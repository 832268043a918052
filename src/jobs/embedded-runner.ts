import type { Logger } from '../shared/logger.js';
import type { JobRequest, JobRunner } from './job-runner.js';
import type { DistrictJobResult } from './run-district-job.js';

/** One waiting job; asks for the same district while it waits join it. */
interface Waiting {
  district: string;
  origin: JobRequest['origin'];
  requestIds: string[];
}

export interface EmbeddedRunnerOptions {
  /** Districts run at once. Default 2. */
  concurrency?: number;
  /** Runs one job (normally runDistrictJob); `signal` is aborted by stop(). */
  run: (job: Waiting, signal: AbortSignal) => Promise<DistrictJobResult>;
  /** Told about every job that ended (or was dropped by stop(), with result null). */
  onEnded?: (job: Waiting, result: DistrictJobResult | null) => Promise<void> | void;
  logger?: Logger;
}

/**
 * Runs jobs in this process: at most one run per district at a time, up to `concurrency`
 * districts at once. A run asked for while the district runs waits and starts after it; asks
 * while one already waits join the waiting one (a person's ask wins over the schedule's, so the
 * run clears "needs attention").
 */
export class EmbeddedRunner implements JobRunner {
  private readonly waiting: Waiting[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private stopping = false;
  private readonly concurrency: number;

  constructor(private readonly opts: EmbeddedRunnerOptions) {
    this.concurrency = opts.concurrency ?? 2;
  }

  enqueue(req: JobRequest): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const w = this.waiting.find((x) => x.district === req.district);
    if (w) {
      if (req.origin === 'manual') w.origin = 'manual';
      if (req.requestId !== undefined) w.requestIds.push(req.requestId);
    } else {
      this.waiting.push({
        district: req.district,
        origin: req.origin,
        requestIds: req.requestId !== undefined ? [req.requestId] : [],
      });
    }
    this.pump();
    return Promise.resolve();
  }

  queueDepth(): Promise<number> {
    return Promise.resolve(this.waiting.length);
  }

  /** Districts running now. */
  runningDistricts(): string[] {
    return [...this.running.keys()];
  }

  /** Resolves when nothing waits or runs (tests, `runs start --wait` in process). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || (this.waiting.length > 0 && !this.stopping)) {
      await Promise.race(this.running.values());
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    const dropped = this.waiting.splice(0);
    for (const w of dropped) await this.opts.onEnded?.(w, null);
    await Promise.allSettled(this.running.values());
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.concurrency) {
      const i = this.waiting.findIndex((w) => !this.running.has(w.district));
      if (i < 0) return;
      const [job] = this.waiting.splice(i, 1);
      this.start(job!);
    }
  }

  private start(job: Waiting): void {
    const p = (async () => {
      let result: DistrictJobResult | null;
      try {
        result = await this.opts.run(job, this.abort.signal);
      } catch (err) {
        // runDistrictJob does not throw for failed runs: this is a bug or the store going away.
        this.opts.logger?.error({ err, district: job.district }, 'district job crashed');
        result = { status: 'failed', runId: null, reason: String(err), transient: true };
      }
      try {
        await this.opts.onEnded?.(job, result);
      } catch (err) {
        this.opts.logger?.error(
          { err, district: job.district },
          'recording the end of a district job failed',
        );
      }
    })().finally(() => {
      this.running.delete(job.district);
      this.pump();
    });
    this.running.set(job.district, p);
  }
}
