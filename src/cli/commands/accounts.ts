import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { createManualAccount, removeAccountOverride, setAccountOverride } from '../../accounts/manual.js';
import { ACCESS_TYPES, STAFF_ROLES } from '../../model/entities.js';
import type { StaffRole } from '../../model/entities.js';
import { RostersyncError } from '../../shared/errors.js';
import { action, configFromFlags, withStore } from '../context.js';
import { table } from '../render.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerAccountsCommand(program: Command): void {
  const acc = program
    .command('accounts')
    .description('list accounts, create them by hand, override staff fields');

  acc
    .command('list')
    .requiredOption('--district <id>', 'district id')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .addOption(
      new Option('--kind <kind>', 'only this kind').choices(['student', 'staff', 'guardian'] as const),
    )
    .addOption(new Option('--status <status>', 'only this status').choices(['active', 'inactive'] as const))
    .option('--limit <n>', 'how many (default 100)', (v) => Number(v), 100)
    .option('--json', 'print JSON (includes names and emails: handle as student data)')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await store.accounts.list({
            district: opts.district,
            limit: opts.limit,
            ...(opts.kind ? { kind: opts.kind } : {}),
            ...(opts.status ? { status: opts.status } : {}),
          });
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          process.stdout.write(
            table([
              ['id', 'kind', 'status', 'origin', 'record', 'roles', 'access'],
              ...list.map((a) => [
                a.id,
                a.kind,
                a.status,
                a.origin,
                a.recordSource ? `${a.recordSource}:${a.recordSourceId ?? ''}` : '-',
                a.roles.join(',') || '-',
                a.access
                  ? `${a.access.type}${a.access.schoolIds.length ? `(${a.access.schoolIds.length} schools)` : ''}`
                  : '-',
              ]),
            ]) + '\n',
          );
        });
      }),
    );

  acc
    .command('create')
    .description('create an account by hand (never changed or deactivated by a sync)')
    .requiredOption('--district <id>', 'district id')
    .addOption(
      new Option('--kind <kind>', 'account kind')
        .choices(['student', 'staff', 'guardian'] as const)
        .makeOptionMandatory(),
    )
    .requiredOption('--last-name <name>', 'last name')
    .option('--first-name <name>', 'first name')
    .option('--email <email>', 'email (also a login identity)')
    .option('--title <title>', 'staff title')
    .option('--role <role>', `staff role (${STAFF_ROLES.join(', ')}); repeatable`, collect)
    .addOption(new Option('--access <type>', 'staff access').choices(ACCESS_TYPES))
    .option('--school <id>', 'school id for school access; repeatable', collect)
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (opts) => {
        const roles = opts.role ?? [];
        for (const r of roles)
          if (!(STAFF_ROLES as readonly string[]).includes(r))
            throw new RostersyncError('input', `--role: unknown role "${r}"`);
        await withStore(configFromFlags(opts), async ({ store }) => {
          const a = await createManualAccount(store, {
            district: opts.district,
            kind: opts.kind,
            name: { ...(opts.firstName ? { first: opts.firstName } : {}), last: opts.lastName },
            ...(opts.email ? { email: opts.email } : {}),
            ...(opts.title ? { title: opts.title } : {}),
            roles: roles as StaffRole[],
            ...(opts.access
              ? { access: { type: opts.access, schoolIds: opts.school ?? [], grades: [] } }
              : {}),
          });
          process.stdout.write(`account ${a.id} created (manual)\n`);
        });
      }),
    );

  acc
    .command('override <accountId>')
    .description('override staff fields; they survive every sync until cleared (--clear)')
    .option('--title <title>')
    .option('--email <email>')
    .option('--role <role>', 'repeatable', collect)
    .addOption(new Option('--access <type>').choices(ACCESS_TYPES))
    .option('--school <id>', 'repeatable', collect)
    .option('--grade <grade>', 'repeatable', collect)
    .option('--clear', 'remove the override')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (accountId, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          if (opts.clear) {
            const removed = await removeAccountOverride(store, accountId);
            process.stdout.write(
              removed ? `override of ${accountId} removed\n` : `account ${accountId} had no override\n`,
            );
            return;
          }
          const fields: Record<string, unknown> = {};
          if (opts.title !== undefined) fields.title = opts.title;
          if (opts.email !== undefined) fields.email = opts.email;
          if (opts.role) fields.roles = opts.role;
          if (opts.access) fields.accessType = opts.access;
          if (opts.school) fields.schoolIds = opts.school;
          if (opts.grade) fields.grades = opts.grade;
          const set = await setAccountOverride(store, accountId, fields);
          process.stdout.write(
            `override of ${accountId}: ${Object.keys(set).join(', ')} (applies from the next sync)\n`,
          );
        });
      }),
    );
}
