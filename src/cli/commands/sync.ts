import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { RostersyncError } from '../../shared/errors.js';
import { assertReachable } from '../../sources/clever-reachable.js';
import { syncFromClever } from '../../sync/clever-sync.js';
import { exitCodeFor } from '../../sync/run-report.js';
import { SYNC_KIND_REQUESTS } from '../../sync/sync-kind.js';
import { action, configFromFlags, deliverAfterRun, resolveSecretBox, withStore } from '../context.js';
import { progressReporter } from '../progress.js';
import { renderReport } from '../render.js';

/**
 * Someone is waiting for an interactive run: an outage fails it within this long rather than after
 * the retry count's minutes of backoff. Scheduled runs have no such budget.
 */
const INTERACTIVE_RETRY_BUDGET_MS = 30_000;

/** `--max-retry-time` (seconds; 0 = none) over `clever.maxRetryTimeMs` over the interactive default. */
function interactiveRetryBudget(
  flag: number | undefined,
  configured: number | undefined,
): number | undefined {
  if (flag === undefined) return configured ?? INTERACTIVE_RETRY_BUDGET_MS;
  if (!Number.isFinite(flag) || flag < 0)
    throw new RostersyncError('config', '--max-retry-time: expected a number of seconds, 0 or more');
  return flag === 0 ? undefined : Math.max(1, Math.round(flag * 1000));
}

function addCleverOptions<C extends Command>(cmd: C) {
  return cmd
    .option('--clever-url <url>', 'Clever API host (default https://api.clever.com)')
    .option('--clever-token <token>', 'district bearer token (or ROSTERSYNC_CLEVER_TOKEN)')
    .addOption(
      new Option('--clever-api <version>', 'Clever API version (default v3.0)').choices([
        'v3.0',
        'v3.1',
      ] as const),
    )
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--district <id>', "our id for the district (default: Clever's district id)")
    .option('--page-size <n>', 'records per Clever page, 1–10000 (default 2000)', (v) => Number(v))
    .option(
      '--max-retry-time <seconds>',
      'give up retrying a Clever request after this long, 0 for no limit (default clever.maxRetryTimeMs, else 30)',
      (v) => Number(v),
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'full: walk everything; events: apply the changes since the last sync (Clever Events API); auto: events unless a full sync is due',
      )
        .choices(SYNC_KIND_REQUESTS)
        .default('auto' as const),
    )
    .option('--json', 'print one JSON object (the run report) on stdout')
    .option('--no-progress', 'no progress display')
    .option('--no-webhooks', 'do not deliver account changes to webhooks after the run');
}

export function registerSyncCommands(program: Command): void {
  for (const mode of ['sync', 'plan'] as const) {
    const cmd = program
      .command(mode)
      .description(
        mode === 'sync'
          ? 'pull the district from Clever and reconcile the store (exit 0 succeeded, 2 held, 1 failed)'
          : 'show what a sync would change, writing nothing',
      );
    addCleverOptions(cmd).action(
      action(async (opts) => {
        const config = configFromFlags(opts, {
          'clever.url': opts.cleverUrl,
          'clever.token': opts.cleverToken,
          'clever.apiVersion': opts.cleverApi,
          'clever.pageSize': opts.pageSize,
        });
        const budget = interactiveRetryBudget(opts.maxRetryTime, config.clever.maxRetryTimeMs);
        if (budget === undefined) delete config.clever.maxRetryTimeMs;
        else config.clever.maxRetryTimeMs = budget;
        return withStore(config, async ({ store, logger }) => {
          // No token given: use the one stored (encrypted) for the district, if any.
          if (
            !config.clever.token &&
            opts.district !== undefined &&
            (await store.districts.get(opts.district))?.hasToken
          ) {
            const stored = await store.districts.getToken(opts.district, resolveSecretBox(config));
            if (stored) config.clever.token = stored;
          }
          if (!config.clever.token) {
            throw new RostersyncError(
              'config',
              'clever.token: no token given (use --clever-token, ROSTERSYNC_CLEVER_TOKEN, or store one with `districts set-token` and pass --district)',
            );
          }
          // Interactive: a host that refuses connections fails now, not after minutes of retries.
          await assertReachable(config.clever.url);
          const progress = progressReporter(logger, opts.progress && !opts.json);
          const report = await syncFromClever({
            store,
            config,
            logger,
            mode,
            kind: opts.mode,
            onProgress: progress.onProgress,
            ...(opts.district !== undefined ? { district: opts.district } : {}),
          });
          progress.stop();
          process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : renderReport(report));
          if (mode === 'sync' && opts.webhooks) await deliverAfterRun({ store, logger, config });
          return mode === 'plan' && report.status !== 'failed' ? 0 : exitCodeFor(report.status);
        });
      }),
    );
  }
}
