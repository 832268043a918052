import type { Command } from '@commander-js/extra-typings';
import { parse as parseYaml } from 'yaml';
import { districtConfigSchema } from '../../model/district-config.js';
import { RostersyncError } from '../../shared/errors.js';
import { action, configFromFlags, resolveSecretBox, withStore } from '../context.js';
import { table } from '../render.js';

/** Sets `a.b.c` in a plain object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

export function registerDistrictsCommand(program: Command): void {
  const d = program.command('districts').description('list districts and change their settings');

  d.command('list')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--json', 'print JSON')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await store.districts.list();
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          process.stdout.write(
            table([
              ['id', 'name', 'clever district', 'token stored'],
              ...list.map((x) => [x.id, x.name, x.cleverDistrictId ?? '-', x.hasToken ? 'yes' : 'no']),
            ]) + '\n',
          );
        });
      }),
    );

  d.command('show <id>')
    .description("a district's settings (YAML-compatible JSON)")
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (id, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const row = await store.districts.get(id);
          if (!row) throw new RostersyncError('not_found', `district ${id} does not exist`);
          process.stdout.write(
            JSON.stringify(
              { id: row.id, name: row.name, cleverDistrictId: row.cleverDistrictId, config: row.config },
              null,
              2,
            ) + '\n',
          );
        });
      }),
    );

  d.command('set <id> <settings...>')
    .description(
      'change settings, e.g. `studentKey=student_number safetyValve.maxPercent=10 contractedGrades=[09,10,11,12]` (values are YAML)',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--create', 'create the district if it does not exist')
    .action(
      action(async (id, settings, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          let row = await store.districts.get(id);
          if (!row && opts.create) row = await store.districts.ensure(id, id);
          if (!row) throw new RostersyncError('not_found', `district ${id} does not exist (use --create)`);
          const next = structuredClone(row.config) as unknown as Record<string, unknown>;
          for (const s of settings) {
            const eq = s.indexOf('=');
            if (eq <= 0) throw new RostersyncError('input', `"${s}" is not key=value`);
            setPath(next, s.slice(0, eq), parseYaml(s.slice(eq + 1)) as unknown);
          }
          const parsed = districtConfigSchema.safeParse(next);
          if (!parsed.success) {
            throw new RostersyncError(
              'config',
              parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            );
          }
          await store.districts.setConfig(id, parsed.data);
          process.stdout.write(`district ${id}: settings saved\n`);
        });
      }),
    );

  d.command('set-token <id>')
    .description(
      "store the district's Clever token, encrypted (read from --clever-token or ROSTERSYNC_CLEVER_TOKEN)",
    )
    .option('--clever-token <token>', 'the district bearer token')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (id, opts) => {
        const config = configFromFlags(opts, { 'clever.token': opts.cleverToken });
        if (!config.clever.token) throw new RostersyncError('config', 'clever.token: no token given');
        await withStore(config, async ({ store }) => {
          if (!(await store.districts.get(id)))
            throw new RostersyncError('not_found', `district ${id} does not exist`);
          await store.districts.setToken(id, config.clever.token!, resolveSecretBox(config));
          process.stdout.write(`district ${id}: token stored (encrypted)\n`);
        });
      }),
    );
}
