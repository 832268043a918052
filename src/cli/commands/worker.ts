import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { bossOptions, DistributedRunner, openBoss, startWorker } from '../../jobs/distributed-runner.js';
import { ServiceMetrics } from '../../jobs/service-metrics.js';
import { buildProbeApp } from '../../server/probe-app.js';
import { RostersyncError } from '../../shared/errors.js';
import { isPostgresUrl } from '../../store/db.js';
import { action, configFromFlags, resolveSecretBox, untilStopped, withStore } from '../context.js';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run district jobs that `serve` enqueues (pg-boss on PostgreSQL), on any number of machines; SIGTERM drains. With --port, answers /healthz, /readyz and /metrics. Prints one line: rostersync worker started',
    )
    .option('--database <db>', 'postgres:// URL (the same database as serve)')
    .option(
      '--concurrency <n>',
      'districts run at once (default service.concurrency, 2)',
      int('concurrency', 1),
    )
    .option(
      '--port <port>',
      "serve /healthz, /readyz and /metrics (this worker's runs) on this port (0 = any free port); default: no HTTP",
      int('port', 0),
    )
    .option('--host <host>', 'HTTP listen address with --port (default 127.0.0.1)', '127.0.0.1')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts, { 'service.concurrency': opts.concurrency });
        if (!isPostgresUrl(config.database))
          throw new RostersyncError(
            'config',
            'database: workers need PostgreSQL (on SQLite, `serve` runs the jobs itself)',
          );
        await withStore(config, async ({ store, logger }) => {
          const boss = await openBoss(bossOptions(config.database, config, logger));
          const metrics = new ServiceMetrics();
          const queue = new DistributedRunner(boss, store);
          metrics.setQueueDepth(() => queue.queueDepth());
          let draining = false;
          const probe =
            opts.port !== undefined
              ? await buildProbeApp({ store, metrics, draining: () => draining })
              : null;
          const worker = await startWorker({
            boss,
            store,
            config,
            logger,
            metrics,
            secretBox: () => resolveSecretBox(config),
          });
          try {
            const url = probe ? await probe.listen({ port: opts.port!, host: opts.host }) : null;
            // Other tools parse this line: keep `worker started` and `url=` exactly.
            process.stdout.write(
              `rostersync worker started concurrency=${config.service.concurrency}${url ? ` url=${url}` : ''}\n`,
            );
            await untilStopped();
            draining = true;
            logger.info(
              'stopping: no new jobs; runs in progress stop at their next batch and are retried elsewhere',
            );
            await worker.stop();
          } finally {
            await probe?.close();
          }
        });
      }),
    );
}
