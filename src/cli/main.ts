import { Command } from '@commander-js/extra-typings';
import { registerAccountsCommand } from './commands/accounts.js';
import { registerChangesCommand } from './commands/changes.js';
import { registerCleverSimCommand } from './commands/clever-sim.js';
import { registerCsvCommands } from './commands/csv.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDistrictsCommand } from './commands/districts.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSyncCommands } from './commands/sync.js';
import { registerWebhooksCommand } from './commands/webhooks.js';
import { registerWorkerCommand } from './commands/worker.js';

/** The `rostersync` command line. Each command lives in src/cli/commands/ and only composes. */
export function buildProgram(): Command {
  const program = new Command()
    .name('rostersync')
    .description(
      'Nightly K-12 roster sync: Clever Data API and CSV drops into SQLite or PostgreSQL, with safe account provisioning.',
    )
    .version('0.1.0')
    .showHelpAfterError();
  registerDemoCommand(program);
  registerMigrateCommand(program);
  registerSyncCommands(program);
  registerCsvCommands(program);
  registerStatusCommand(program);
  registerRunsCommand(program);
  registerDistrictsCommand(program);
  registerAccountsCommand(program);
  registerChangesCommand(program);
  registerWebhooksCommand(program);
  registerCleverSimCommand(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  return program;
}

// `rostersync changes | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

await buildProgram().parseAsync(process.argv);
