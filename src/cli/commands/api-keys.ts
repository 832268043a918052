import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { API_KEY_SCOPES } from '../../store/queries/api-keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-keys.js';
import { action, configFromFlags, withStore } from '../context.js';
import { table } from '../render.js';

export function registerApiKeysCommand(program: Command): void {
  const keys = program
    .command('api-keys')
    .description('keys of the REST API (/api/v1): bearer tokens, `read` or `admin` scope');

  keys
    .command('create')
    .description('create a key; prints it once (only its hash is kept)')
    .requiredOption('--name <name>', 'what the key is for (e.g. the app that uses it)')
    .addOption(
      new Option('--scope <scope>', 'read: every GET; admin: also settings, run now, approve/reject')
        .choices(API_KEY_SCOPES)
        .makeOptionMandatory(),
    )
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const { key, token } = await createApiKey(store, { name: opts.name, scope: opts.scope });
          process.stdout.write(`api key ${key.id} (${key.scope}) created\nkey (shown once): ${token}\n`);
        });
      }),
    );

  keys
    .command('list')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--json', 'print JSON')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await listApiKeys(store);
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          process.stdout.write(
            table([
              ['id', 'name', 'scope', 'created', 'last used', 'revoked'],
              ...list.map((k) => [
                k.id,
                k.name,
                k.scope,
                k.createdAt,
                k.lastUsedAt ?? '-',
                k.revokedAt ?? '-',
              ]),
            ]) + '\n',
          );
        });
      }),
    );

  keys
    .command('revoke <id>')
    .description('revoke a key: requests with it are refused from now on')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (id, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          await revokeApiKey(store, id);
          process.stdout.write(`api key ${id} revoked\n`);
        });
      }),
    );
}
