import type { Config } from '../config.js';
import { deliverUntilIdle } from '../accounts/webhooks.js';
import type { Logger } from '../shared/logger.js';
import type { SecretBox } from '../store/secrets.js';
import type { Store } from '../store/store.js';
import { CsvDropWatcher } from './csv-drop-watcher.js';
import { loadSchedules } from './district-schedules.js';
import { openBoss, DistributedRunner } from './distributed-runner.js';
import type { BossOptions } from './distributed-runner.js';
import { EmbeddedRunner } from './embedded-runner.js';
import type { JobRunner } from './job-runner.js';
import { runDistrictJob } from './run-district-job.js';
import type { DistrictJobResult } from './run-district-job.js';
import { Scheduler } from './scheduler.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface ServiceOptions {
  store: Store;
  config: Config;
  logger: Logger;
  secretBox: () => SecretBox;
  metrics: ServiceMetrics;
  /** Districts run at once. Default `config.service.concurrency`. */
  concurrency?: number;
  /** How often run requests (`runs start`) are looked for (ms). Default 1000. */
  pollMs?: number;
  /** How often schedules are re-read from the store (ms). Default 30000. */
  reloadMs?: number;
  /** How often CSV districts' drop folders are looked into (ms). Default `config.service.csvPollMs`. */
  csvPollMs?: number;
}

export interface RunningService {
  runner: JobRunner;
  scheduler: Scheduler;
  /** No new runs; runs in progress stop at their next batch boundary; resolves when they have. */
  stop(): Promise<void>;
}

/**
 * The embedded service: each district's schedule and the run requests left in the store feed one
 * in-process runner (one run per district at a time, `concurrency` districts at once), which runs
 * `runDistrictJob` and then delivers account changes to webhooks.
 */
export async function startEmbeddedService(opts: ServiceOptions): Promise<RunningService> {
  const { store, config, logger } = opts;
  const runner = new EmbeddedRunner({
    concurrency: opts.concurrency ?? config.service.concurrency,
    logger,
    run: (job, signal) =>
      runDistrictJob(
        { store, config, logger, secretBox: opts.secretBox, metrics: opts.metrics, signal },
        { district: job.district, origin: job.origin },
      ),
    onEnded: async (job, result) => {
      for (const id of job.requestIds) {
        // Stopped by shutdown (before or during its run): the request stays for the next process.
        if (result === null || result.reason?.startsWith('cancelled:'))
          await store.service.releaseRequest(id);
        else
          await store.service.finishRequest(id, {
            runId: result.runId,
            status: result.status,
            reason: result.reason,
          });
      }
      if (result && changedAccounts(result)) await deliver(opts);
    },
  });
  return feed(runner, opts);
}

/**
 * The distributed service (`serve` on PostgreSQL): the same schedules and run requests, enqueued
 * to pg-boss for `rostersync worker` processes to run.
 */
export async function startDistributedService(
  opts: ServiceOptions & { boss: BossOptions },
): Promise<RunningService> {
  const boss = await openBoss(opts.boss);
  return feed(new DistributedRunner(boss, opts.store), opts);
}

/**
 * Schedules, run requests (`runs start`) and drops in CSV districts' folders all go to
 * `runner.enqueue`: one path for all.
 */
async function feed(runner: JobRunner, opts: ServiceOptions): Promise<RunningService> {
  const { store, config, logger } = opts;
  // Requests taken by a process that died go back to the queue.
  await store.service.requeueRunning();
  opts.metrics.setQueueDepth(() => runner.queueDepth());
  const scheduler = new Scheduler({
    schedules: () => loadSchedules(store, config.service.timezone),
    onDue: (district) =>
      void runner
        .enqueue({ district, origin: 'schedule' })
        .catch((err: unknown) => logger.error({ err, district }, 'could not enqueue a scheduled run')),
    logger,
    ...(opts.reloadMs !== undefined ? { reloadMs: opts.reloadMs } : {}),
  });
  await scheduler.start();
  const drops = new CsvDropWatcher({
    store,
    logger,
    pollMs: opts.csvPollMs ?? config.service.csvPollMs,
    settleMs: config.service.csvSettleMs,
    onDrop: (district) =>
      void runner
        .enqueue({ district, origin: 'schedule' })
        .catch((err: unknown) => logger.error({ err, district }, 'could not enqueue a CSV drop run')),
  });
  drops.start();

  let polling: Promise<void> = Promise.resolve();
  const poll = async (): Promise<void> => {
    for (const req of await store.service.queuedRequests()) {
      if (await store.service.takeRequest(req.id))
        await runner.enqueue({ district: req.district, origin: req.origin, requestId: req.id });
    }
  };
  const timer = setInterval(() => {
    polling = polling
      .then(poll)
      .catch((err: unknown) => logger.error({ err }, 'reading run requests failed'));
  }, opts.pollMs ?? 1000);

  return {
    runner,
    scheduler,
    async stop() {
      scheduler.stop();
      clearInterval(timer);
      await drops.stop();
      await polling;
      await runner.stop();
    },
  };
}

function changedAccounts(r: DistrictJobResult): boolean {
  return r.status === 'succeeded' || r.status === 'held';
}

async function deliver(opts: ServiceOptions): Promise<void> {
  if ((await opts.store.webhooks.list()).length === 0) return;
  try {
    await deliverUntilIdle({
      store: opts.store,
      box: opts.secretBox(),
      logger: opts.logger,
      deadlineMs: 30_000,
    });
  } catch (err) {
    opts.logger.error(
      { err },
      'webhook delivery after a run failed; the next run or `webhooks deliver` retries',
    );
  }
}
