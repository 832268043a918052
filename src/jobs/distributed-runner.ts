import PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import type { SecretBox } from '../store/secrets.js';
import type { RunRequestOrigin } from '../store/queries/service.js';
import type { Store } from '../store/store.js';
import type { JobRequest, JobRunner } from './job-runner.js';
import { runDistrictJob } from './run-district-job.js';
import type { ServiceMetrics } from './service-metrics.js';

/** The pg-boss queue of district runs. */
export const DISTRICT_QUEUE = 'rostersync-district-run';

interface JobData {
  district: string;
  origin: RunRequestOrigin;
  requestId?: string;
  /** When the job was enqueued (ISO-8601, the store's clock): see DistrictJob.askedAt. */
  askedAt?: string;
}

export interface BossOptions {
  /** PostgreSQL URL (the store's own database: pg-boss keeps its tables in schema `pgboss`). */
  url: string;
  logger: Logger;
  /**
   * A job whose worker went silent this long (s) is failed by pg-boss and retried elsewhere. The
   * district lock keeps a retry from running beside a slow but live run, so this only bounds how
   * long a killed worker's district waits. Default 1800.
   */
  expireInSeconds?: number;
  /** Retries of a transient failure (Clever down, district busy), with exponential backoff. Default 8. */
  retryLimit?: number;
  /** First retry delay (s). Default 30. */
  retryDelaySeconds?: number;
  /** How often pg-boss expires silent jobs (s). Default 60. */
  maintenanceIntervalSeconds?: number;
}

/**
 * Starts pg-boss and creates the queue. `stately`, keyed by district (singletonKey): at most one
 * queued and one running job per district, so repeated asks collapse and no district runs twice
 * at once.
 */
export function bossOptions(url: string, config: Config, logger: Logger): BossOptions {
  const s = config.service;
  return {
    url,
    logger,
    expireInSeconds: s.jobExpireSeconds,
    retryLimit: s.retryLimit,
    retryDelaySeconds: s.retryDelaySeconds,
    // Silent jobs are noticed within a fifth of their expiry (at most a minute late).
    maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(s.jobExpireSeconds / 5))),
  };
}

export async function openBoss(opts: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: opts.url,
    max: 4,
    maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 60,
    // The queue is not a store of record: finished jobs only need to outlive a look at them.
    archiveCompletedAfterSeconds: 3600,
  });
  boss.on('error', (err) => opts.logger.error({ err }, 'job queue error'));
  await boss.start();
  const queue = {
    name: DISTRICT_QUEUE,
    policy: 'stately' as const,
    retryLimit: opts.retryLimit ?? 8,
    retryDelay: opts.retryDelaySeconds ?? 30,
    retryBackoff: true,
    expireInSeconds: opts.expireInSeconds ?? 1800,
  };
  if (await boss.getQueue(DISTRICT_QUEUE)) await boss.updateQueue(DISTRICT_QUEUE, queue);
  else await boss.createQueue(DISTRICT_QUEUE, queue);
  return boss;
}

/**
 * The producer side (`serve` on PostgreSQL): jobs go to pg-boss, and `rostersync worker` processes
 * run them. A request that finds the district's job already queued is put back in the store, so
 * it is asked again once that job has started: a run asked for during another runs after it.
 */
export class DistributedRunner implements JobRunner {
  constructor(
    private readonly boss: PgBoss,
    private readonly store: Store,
  ) {}

  async enqueue(req: JobRequest): Promise<void> {
    const data: JobData = {
      district: req.district,
      origin: req.origin,
      askedAt: this.store.clock().toISOString(),
    };
    if (req.requestId !== undefined) data.requestId = req.requestId;
    const id = await this.boss.send(DISTRICT_QUEUE, data, { singletonKey: req.district });
    if (id === null && req.requestId !== undefined) await this.store.service.releaseRequest(req.requestId);
  }

  queueDepth(): Promise<number> {
    return this.boss.getQueueSize(DISTRICT_QUEUE);
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true });
  }
}

export interface WorkerOptions {
  boss: PgBoss;
  store: Store;
  config: Config;
  logger: Logger;
  secretBox: () => SecretBox;
  metrics?: ServiceMetrics;
  /** Districts this worker runs at once. Default `config.service.concurrency`. */
  concurrency?: number;
  pollingIntervalSeconds?: number;
}

export interface RunningWorker {
  /** Takes no new jobs; runs in progress stop at their next batch (their jobs are retried elsewhere). */
  stop(): Promise<void>;
}

/**
 * The consumer side (`rostersync worker`): runs district jobs from pg-boss with runDistrictJob. A
 * transient failure is thrown back to pg-boss, which retries it with backoff; anything else (a
 * success, a held run, a rejected token) completes the job. A worker killed mid-run leaves its job
 * active until it expires; the retry, on any worker, finishes the interrupted run (the sync is
 * crash-safe).
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const abort = new AbortController();
  const { store } = opts;
  const handler = async ([job]: PgBoss.Job<JobData>[]): Promise<unknown> => {
    if (!job) return null;
    const data = job.data;
    const result = await runDistrictJob(
      {
        store,
        config: opts.config,
        logger: opts.logger,
        secretBox: opts.secretBox,
        signal: abort.signal,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
      },
      {
        district: data.district,
        origin: data.origin,
        ...(data.askedAt !== undefined ? { askedAt: data.askedAt } : {}),
      },
    );
    if (data.requestId !== undefined && !result.reason?.startsWith('cancelled:')) {
      await store.service.finishRequest(data.requestId, {
        runId: result.runId,
        status: result.status,
        reason: result.reason,
      });
    }
    if (result.transient) throw new Error(result.reason ?? 'transient failure');
    return result;
  };
  const concurrency = opts.concurrency ?? opts.config.service.concurrency;
  const ids: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    // pg-boss 10 waits out the rest of its polling interval after every fetch, even one that found
    // a job; telling the worker it has work skips that wait, so a busy worker takes its next job at
    // once and only an idle one polls.
    const slot: { id?: string } = {};
    const id = await opts.boss.work<JobData>(
      DISTRICT_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 1 },
      async (jobs) => {
        try {
          return await handler(jobs);
        } finally {
          if (slot.id !== undefined && !abort.signal.aborted) opts.boss.notifyWorker(slot.id);
        }
      },
    );
    slot.id = id;
    ids.push(id);
  }
  return {
    async stop() {
      // Runs in progress stop at their next batch and throw back to pg-boss (retried elsewhere).
      abort.abort();
      for (const id of ids) await opts.boss.offWork({ id });
      await opts.boss.stop({ graceful: true, wait: true, timeout: 120_000 });
    },
  };
}
