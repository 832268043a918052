import type { Command } from '@commander-js/extra-typings';
import { action, configFromFlags, withStore } from '../context.js';

export function registerChangesCommand(program: Command): void {
  program
    .command('changes')
    .description('the account change feed, in order, after a sequence number')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--after <seq>', 'only changes after this sequence number (default 0)', (v) => Number(v), 0)
    .option('--district <id>', 'only this district')
    .option('--limit <n>', 'how many (default 1000)', (v) => Number(v), 1000)
    .option('--json', 'print one JSON object per line')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const changes = await store.changeFeed.after(opts.after, {
            limit: opts.limit,
            ...(opts.district ? { district: opts.district } : {}),
          });
          for (const c of changes) {
            process.stdout.write(
              opts.json
                ? JSON.stringify(c) + '\n'
                : `${c.seq}\t${c.at}\t${c.district}\t${c.accountId}\t${c.kind}${c.fields.length > 0 ? `\t${c.fields.join(',')}` : ''}\n`,
            );
          }
        });
      }),
    );
}
