import type { Command } from '@commander-js/extra-typings';
import { action, configFromFlags } from '../context.js';
import { Store } from '../../store/store.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (they also run on every open)')
    .option('--database <db>', 'SQLite file or postgres:// URL (default ./rostersync.db)')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts);
        const store = await Store.open({ location: config.database, migrate: false });
        try {
          const res = await store.migrate();
          const applied = res.applied.length > 0 ? res.applied.join(', ') : 'none (already up to date)';
          process.stdout.write(
            `database ${store.location}: applied ${applied}; schema at ${res.current ?? '-'}\n`,
          );
        } finally {
          await store.close();
        }
      }),
    );
}
