import { rmSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { startCleverSimulator } from '../../simulator/index.js';
import { isPostgresUrl } from '../../store/db.js';
import { syncFromClever } from '../../sync/clever-sync.js';
import { getStatus } from '../../sync/status.js';
import { action, configFromFlags, withStore } from '../context.js';
import { renderReport, renderStatus } from '../render.js';

/**
 * The demo: the whole job on the embedded default. Starts the built-in Clever simulator with a
 * seeded district, syncs it into a fresh SQLite file, lets one school day pass in the simulator
 * (enrolments, withdrawals, schedule changes), syncs again, and prints both reports and the status.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole job against the built-in Clever simulator (SQLite by default) and print the reports',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL', './rostersync-demo.db')
    .option('--students <n>', 'students in the simulated district (default 5000)', (v) => Number(v), 5000)
    .option('--seed <n>', 'simulator seed (default 1)', (v) => Number(v), 1)
    .option('--keep', 'keep the existing demo database instead of starting fresh')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts);
        if (!opts.keep && !isPostgresUrl(config.database)) {
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${config.database}${suffix}`, { force: true });
        }
        const sim = await startCleverSimulator({ seed: opts.seed, students: opts.students });
        try {
          const run = { ...config, clever: { ...config.clever, url: sim.url, token: sim.token } };
          return await withStore(run, async ({ store, logger }) => {
            const out = process.stdout;
            out.write(
              `Clever simulator at ${sim.url} (seed ${opts.seed}, ${opts.students} students); database ${store.location}\n\n`,
            );
            out.write('1. First sync: everything is new.\n');
            const first = await syncFromClever({ store, config: run, logger });
            out.write(renderReport(first) + '\n');
            const day = sim.advance(1)[0];
            if (day) {
              const n = (k: 'created' | 'updated' | 'deleted') =>
                Object.values(day[k]).reduce((a, ids) => a + ids.length, 0);
              out.write(
                `2. A school day passes in the simulator: ${n('created')} records created, ${n('updated')} updated, ${n('deleted')} deleted.\n`,
              );
            }
            const second = await syncFromClever({ store, config: run, logger });
            out.write(renderReport(second) + '\n');
            out.write('3. Status.\n');
            out.write(renderStatus(await getStatus(store)));
            out.write(
              `\nNext: \`./bin/rostersync.js status --database ${config.database}\`, ` +
                `\`./bin/rostersync.js changes --database ${config.database}\`, or the tour in README.md\n`,
            );
            return first.status === 'succeeded' && second.status === 'succeeded' ? 0 : 1;
          });
        } finally {
          await sim.close();
        }
      }),
    );
}
