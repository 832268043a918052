import type { Command } from '@commander-js/extra-typings';
import { getStatus } from '../../sync/status.js';
import { action, configFromFlags, withStore } from '../context.js';
import { renderStatus } from '../render.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'active totals per entity (schools, students, staff by role, contacts, sections, enrollments) and the last runs',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .option('--district <id>', 'only this district')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          const status = await getStatus(
            store,
            opts.district !== undefined ? { district: opts.district } : {},
          );
          const attention = (await store.service.list())
            .filter(
              (s) => s.attention !== null && (opts.district === undefined || s.district === opts.district),
            )
            .map((s) => ({ district: s.district, reason: s.attention!, since: s.attentionAt }));
          if (opts.json) return void process.stdout.write(JSON.stringify({ ...status, attention }) + '\n');
          process.stdout.write(renderStatus(status));
          for (const a of attention)
            process.stdout.write(
              `\ndistrict ${a.district} NEEDS ATTENTION since ${a.since ?? '?'}: ${a.reason}\n  (the schedule skips it until its settings change; \`rostersync runs start --district ${a.district}\` tries now)\n`,
            );
        });
      }),
    );
}
