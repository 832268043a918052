import type { Command } from '@commander-js/extra-typings';
import { getStatus } from '../../sync/status.js';
import { action, configFromFlags, withStore } from '../context.js';
import { renderStatus } from '../render.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the main job on the embedded default (SQLite) and print the status')
    .option('--database <db>', 'SQLite file or postgres:// URL', './rostersync-demo.db')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          process.stdout.write(renderStatus(await getStatus(store)));
        });
      }),
    );
}
