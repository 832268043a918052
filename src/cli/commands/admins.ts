import type { Command } from '@commander-js/extra-typings';
import { createAdmin } from '../../accounts/admin-auth.js';
import type { Config } from '../../config.js';
import { action, configFromFlags, withStore } from '../context.js';
import { table } from '../render.js';

/** The server's public address (`server.publicUrl`), default `http://localhost:<port>`. */
export function publicUrl(config: Config, port = 8080): string {
  return (config.server.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
}

/** The one-time link that lets an admin choose a password. */
export function setupLink(base: string, token: string): string {
  return `${base}/admin/setup?token=${encodeURIComponent(token)}`;
}

export function registerAdminsCommand(program: Command): void {
  const admins = program.command('admins').description('people who sign in to the admin web app');

  admins
    .command('create <email>')
    .description(
      'create an admin (or renew their setup link) and print a one-time link to choose a password; without --district a vendor admin who sees every district',
    )
    .option('--district <id>', 'a district admin: sees and acts on this district only')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--port <port>', 'port of the default public URL (default 8080)', (v) => Number(v), 8080)
    .action(
      action(async (email, opts) => {
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          const r = await createAdmin(store, { email, district: opts.district ?? null });
          const who = r.admin.district ? `district ${r.admin.district}` : 'every district (vendor admin)';
          process.stdout.write(
            `admin ${r.admin.email}: ${who}\n` +
              `one-time setup link (valid until ${r.expiresAt}):\n${setupLink(publicUrl(config, opts.port), r.setupToken)}\n`,
          );
        });
      }),
    );

  admins
    .command('list')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await store.admins.list();
          process.stdout.write(
            table([
              ['email', 'district', 'password set', 'created'],
              ...list.map((a) => [
                a.email,
                a.district ?? '(all: vendor)',
                a.hasPassword ? 'yes' : 'no',
                a.createdAt,
              ]),
            ]) + '\n',
          );
        });
      }),
    );
}
