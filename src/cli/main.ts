import { Command } from '@commander-js/extra-typings';
import { registerDemoCommand } from './commands/demo.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSyncCommands } from './commands/sync.js';

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
  registerStatusCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
