import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunReport } from '../sync/run-report.js';

/**
 * The service's Prometheus metrics, in a registry of its own (nothing is registered globally at
 * import time). Runners record each run's report here; `GET /metrics` prints the registry.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'status'>;
  private readonly duration: Histogram<'status'>;
  private readonly records: Counter<'entity' | 'change'>;
  private readonly accounts: Counter<'change'>;
  private readonly requests: Counter;
  private readonly retries: Counter;
  private readonly inProgress: Gauge;
  private readonly signIns: Counter<'outcome' | 'reason'>;
  private queueDepthFn: () => Promise<number> | number = () => 0;

  constructor() {
    const registers = [this.registry];
    this.runs = new Counter({
      name: 'rostersync_runs_total',
      help: 'District runs finished, by status (succeeded, held, failed) or skipped',
      labelNames: ['status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'rostersync_run_duration_seconds',
      help: 'Wall time of a district run, by status',
      labelNames: ['status'],
      // Seconds: a small district takes a second or two, a large first sync tens of minutes.
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600],
      registers,
    });
    this.records = new Counter({
      name: 'rostersync_records_total',
      help: 'Roster records changed by runs, by entity and change (created, updated, archived, restored)',
      labelNames: ['entity', 'change'],
      registers,
    });
    this.accounts = new Counter({
      name: 'rostersync_accounts_changed_total',
      help: 'Accounts changed by runs, by change (provisioned, linked, updated, deactivated, reactivated)',
      labelNames: ['change'],
      registers,
    });
    this.requests = new Counter({
      name: 'rostersync_clever_requests_total',
      help: 'Requests sent to Clever by runs',
      registers,
    });
    this.retries = new Counter({
      name: 'rostersync_clever_retries_total',
      help: 'Requests to Clever that were retried',
      registers,
    });
    this.inProgress = new Gauge({
      name: 'rostersync_runs_in_progress',
      help: 'District runs in progress in this process',
      registers,
    });
    this.signIns = new Counter({
      name: 'rostersync_sign_ins_total',
      help: 'Clever sign-ins, by outcome (signed_in, refused) and reason code (none for signed_in)',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    const depth = (): Promise<number> | number => this.queueDepthFn();
    new Gauge({
      name: 'rostersync_queue_depth',
      help: 'District runs waiting to start',
      registers,
      async collect() {
        this.set(await depth());
      },
    });
  }

  /** Where the queue depth is read from when metrics are scraped. */
  setQueueDepth(fn: () => Promise<number> | number): void {
    this.queueDepthFn = fn;
  }

  runStarted(): void {
    this.inProgress.inc();
  }

  runEnded(): void {
    this.inProgress.dec();
  }

  skipped(): void {
    this.runs.inc({ status: 'skipped' });
  }

  /** Records one finished run. */
  observe(report: RunReport): void {
    this.runs.inc({ status: report.status });
    this.duration.observe({ status: report.status }, report.durationMs / 1000);
    for (const [entity, c] of Object.entries(report.counts)) {
      for (const change of ['created', 'updated', 'archived', 'restored'] as const) {
        if (c[change] > 0) this.records.inc({ entity, change }, c[change]);
      }
    }
    const a = report.accounts;
    for (const change of [
      'provisioned',
      'linked',
      'updated',
      'deactivated',
      'reactivated',
      'rekeyed',
    ] as const) {
      if (a[change] > 0) this.accounts.inc({ change }, a[change]);
    }
    if (report.stats.requests > 0) this.requests.inc(report.stats.requests);
    if (report.stats.retries > 0) this.retries.inc(report.stats.retries);
  }

  /** Records one Clever sign-in. */
  signedIn(): void {
    this.signIns.inc({ outcome: 'signed_in', reason: 'none' });
  }

  /** Records one refused Clever sign-in, by its reason code. */
  signInRefused(reason: string): void {
    this.signIns.inc({ outcome: 'refused', reason });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
