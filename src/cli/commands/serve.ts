import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { ServiceMetrics } from '../../jobs/service-metrics.js';
import { bossOptions } from '../../jobs/distributed-runner.js';
import { startDistributedService, startEmbeddedService } from '../../jobs/service.js';
import { isPostgresUrl } from '../../store/db.js';
import type { Config } from '../../config.js';
import { buildApp } from '../../server/app.js';
import type { CleverSignInConfig } from '../../server/auth/clever-sign-in.js';
import { RostersyncError } from '../../shared/errors.js';
import { syncFromClever } from '../../sync/clever-sync.js';
import { action, configFromFlags, resolveSecretBox, withStore } from '../context.js';
import type { CliContext } from '../context.js';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
}

/** Resolves on the first SIGTERM or SIGINT. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/** Clever sign-in's settings, or null when the app's credentials or the callback URL are missing. */
function signInOptions(config: Config): CleverSignInConfig | null {
  const { clientId, clientSecret } = config.clever;
  const { redirectUri } = config.sso;
  if (!clientId || !clientSecret || !redirectUri) return null;
  return {
    clientId,
    clientSecret,
    oauthUrl: config.clever.oauthUrl,
    apiUrl: config.clever.url,
    apiVersion: config.clever.apiVersion,
    redirectUri,
    appUrl: config.sso.appUrl ?? null,
    signingKey: config.sso.signingKey ?? null,
  };
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'the long-running service: runs each district on its schedule and on `runs start`, answers /healthz, /readyz and /metrics, serves the REST API at /api/v1, the admin web app at /admin, and Clever sign-in at /auth/clever/login when sso.redirectUri is set; SIGTERM stops it gracefully. Prints one line: rostersync serve listening url=...',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--port <port>', 'HTTP port (default 8080; 0 = any free port)', int('port', 0), 8080)
    .option('--host <host>', 'HTTP listen address (default 127.0.0.1)', '127.0.0.1')
    .option(
      '--concurrency <n>',
      'districts run at once (default service.concurrency, 2)',
      int('concurrency', 1),
    )
    .option(
      '--workers <n>',
      'PostgreSQL: 0 runs the jobs in this process; otherwise (default) they go to pg-boss for `rostersync worker` processes',
      int('workers', 0),
    )
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts, { 'service.concurrency': opts.concurrency });
        await withStore(config, (ctx) =>
          serveUntilStopped(ctx, {
            port: opts.port,
            host: opts.host,
            distributed: isPostgresUrl(config.database) && opts.workers !== 0,
          }),
        );
      }),
    );
}

export interface ServeOptions {
  port: number;
  host: string;
  /** Jobs go to pg-boss for `rostersync worker` processes instead of running in this process. */
  distributed: boolean;
  /** Called once the server listens, with its URL (after the `listening url=` line). */
  onListening?: (url: string) => void;
}

/**
 * Runs the service and its HTTP app (health, metrics, the REST API, Clever sign-in, the admin pages)
 * on an open store until
 * SIGTERM or SIGINT, then stops gracefully. `serve` and the demo (`demo --serve`) both use it.
 */
export async function serveUntilStopped(ctx: CliContext, opts: ServeOptions): Promise<void> {
  const { store, config, logger } = ctx;
  const metrics = new ServiceMetrics();
  let draining = false;
  const secretBox = () => resolveSecretBox(config);
  const service = opts.distributed
    ? await startDistributedService({
        store,
        config,
        logger,
        secretBox,
        metrics,
        boss: bossOptions(config.database, config, logger),
      })
    : await startEmbeddedService({ store, config, logger, secretBox, metrics });
  logger.info({ mode: opts.distributed ? 'distributed (pg-boss)' : 'embedded' }, 'jobs');
  const signIn = signInOptions(config);
  if (signIn === null)
    logger.info(
      'clever sign-in off: set clever.clientId, clever.clientSecret and sso.redirectUri to serve /auth/clever',
    );
  const app = await buildApp({
    store,
    metrics,
    draining: () => draining,
    logger,
    api: { rateLimitPerMinute: config.api.rateLimitPerMinute, timezone: config.service.timezone },
    ...(signIn ? { signIn: { config: signIn, logger, secretBox } } : {}),
    admin: {
      timezone: config.service.timezone,
      secureCookies: config.server.publicUrl?.startsWith('https:') ?? false,
      secretBox,
      planSchoolFilter: async (district, schoolFilter) => {
        if ((await store.service.get(district))?.csvFolder)
          throw new RostersyncError(
            'input',
            'a CSV district is planned from its next drop, not previewed here',
          );
        const stored = (await store.districts.get(district))?.hasToken
          ? await store.districts.getToken(district, secretBox())
          : null;
        const token = stored ?? config.clever.token;
        if (!token) throw new RostersyncError('config', `no Clever token for district ${district}`);
        // Someone is waiting for the page: an outage fails the plan quickly instead of after minutes.
        const interactive = { ...config, clever: { ...config.clever, maxRetryTimeMs: 30_000 } };
        return syncFromClever({
          store,
          config: interactive,
          logger,
          token,
          district,
          mode: 'plan',
          schoolFilter,
        });
      },
    },
  });
  const signal = stopSignal();
  try {
    const url = await app.listen({ port: opts.port, host: opts.host });
    // Other tools parse this line: keep `url=` exactly.
    process.stdout.write(`rostersync serve listening url=${url}\n`);
    logger.info({ url, database: store.location }, 'serving');
    opts.onListening?.(url);
    const sig = await signal;
    draining = true;
    logger.info({ signal: sig }, 'stopping: no new runs; runs in progress stop at their next batch');
  } finally {
    await service.stop();
    await app.close();
  }
  logger.info('stopped');
}
