import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerAccountsCommand } from './commands/accounts.js';
import { registerApiKeysCommand } from './commands/api-keys.js';
import { registerAdminsCommand } from './commands/admins.js';
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
  registerApiKeysCommand(program);
  registerAdminsCommand(program);
  registerWorkerCommand(program);
  return program;
}

/**
 * `rostersync changes | head` closes stdout early: that is the reader's choice, not an error. Stays
 * installed after `main` returns, because a write buffered by the last command can fail later.
 */
function exitOnEpipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
}

/**
 * Runs the command line on `argv` (the user's arguments only, without `node` and the script) and
 * resolves with the process exit code: 0 succeeded, 2 a run was held, 1 anything else (see
 * sync/run-report `exitCodeFor`). Help, `--version` and usage errors resolve too (0 or 1) instead of
 * ending the process, so a caller can run it in-process. Commands set `process.exitCode` while they
 * run (cli/context `action`); it is read here and put back as it was, and the caller decides.
 * Rejects only on a bug that escaped a command.
 */
export async function main(argv: readonly string[]): Promise<number> {
  if (!process.stdout.listeners('error').includes(exitOnEpipe)) process.stdout.on('error', exitOnEpipe);
  const program = buildProgram();
  // Subcommands copy the exit behaviour from their parent when created, so each one is set here.
  const all: Command[] = [program];
  for (let i = 0; i < all.length; i++) {
    all[i]!.exitOverride();
    all.push(...(all[i]!.commands as Command[]));
  }
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  } finally {
    process.exitCode = before;
  }
}
