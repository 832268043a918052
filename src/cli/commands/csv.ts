import type { Command } from '@commander-js/extra-typings';
import { DropFolder } from '../../sync/drop-folder.js';
import { exportCsv } from '../../sync/csv-export.js';
import { importCsv, resolveCsvDistrict } from '../../sync/csv-import.js';
import { exitCodeFor } from '../../sync/run-report.js';
import { action, configFromFlags, deliverAfterRun, withStore } from '../context.js';
import { progressReporter } from '../progress.js';
import { renderReport } from '../render.js';

export function registerCsvCommands(program: Command): void {
  program
    .command('import-csv <dir>')
    .description(
      'import the district CSV files in DIR (schools.csv, students.csv, school_staff.csv, staff_overrides.csv); exit 0 succeeded, 2 held, 1 failed',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--district <id>', 'district id (default: the only district in the store, or "default")')
    .option('--plan', 'show what the import would change, writing nothing')
    .option('--json', 'print one JSON object (the run report) on stdout')
    .option('--no-progress', 'no progress display')
    .option('--no-webhooks', 'do not deliver account changes to webhooks after the run')
    .action(
      action(async (dir, opts) => {
        const config = configFromFlags(opts);
        return withStore(config, async ({ store, logger }) => {
          const progress = progressReporter(logger, opts.progress && !opts.json);
          const report = await importCsv({
            store,
            dir,
            logger,
            lockStaleMs: config.sync.lockStaleMs,
            onProgress: progress.onProgress,
            ...(opts.district ? { district: opts.district } : {}),
            ...(opts.plan ? { mode: 'plan' as const } : {}),
          });
          progress.stop();
          process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : renderReport(report));
          if (!opts.plan && opts.webhooks) await deliverAfterRun({ store, logger, config });
          return exitCodeFor(report.status);
        });
      }),
    );

  program
    .command('export-csv <dir>')
    .description("write the district's active roster as schools.csv, students.csv and school_staff.csv")
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--district <id>', 'district id (default: the only district in the store)')
    .action(
      action(async (dir, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const district = await resolveCsvDistrict(store, opts.district);
          const r = await exportCsv(store, district, dir);
          process.stdout.write(
            `exported district ${district} to ${dir}: ${r.schools} schools, ${r.students} students, ${r.staff} staff${r.overrides > 0 ? `, ${r.overrides} staff overrides` : ''}\n`,
          );
        });
      }),
    );

  program
    .command('watch-csv <dir>')
    .description(
      'watch DIR/automated/ and import each complete drop; results are archived under DIR/archive/; DIR/other/ waits for review',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--district <id>', 'district id (default: the only district in the store, or "default")')
    .option('--poll <ms>', 'how often to look (default 5000)', (v) => Number(v), 5000)
    .option(
      '--settle <ms>',
      'how long a file must stay unchanged to count as complete (default 15000)',
      (v) => Number(v),
      15_000,
    )
    .action(
      action(async (dir, opts) => {
        const config = configFromFlags(opts);
        await withStore(config, async ({ store, logger }) => {
          const abort = new AbortController();
          process.once('SIGINT', () => abort.abort());
          process.once('SIGTERM', () => abort.abort());
          const folder = new DropFolder({
            root: dir,
            store,
            logger,
            settleMs: opts.settle,
            lockStaleMs: config.sync.lockStaleMs,
            ...(opts.district ? { district: opts.district } : {}),
          });
          logger.info({ dir, poll: opts.poll, settle: opts.settle }, 'watching the drop folder');
          await folder.run(abort.signal, opts.poll, async (d) => {
            process.stdout.write(
              `${d.folder}: ${d.report.status}${d.report.reason ? ` (${d.report.reason})` : ''}\n`,
            );
            await deliverAfterRun({ store, logger, config });
          });
        });
      }),
    );
}
