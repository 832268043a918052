import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { parse as parseYaml } from 'yaml';
import { describeDistricts, setScheduleParts } from '../../jobs/district-schedules.js';
import { discoverDistricts } from '../../jobs/discover.js';
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
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          const views = await describeDistricts(store, config.service.timezone);
          const list = (await store.districts.list()).map((x) => ({ ...x, ...views.get(x.id) }));
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          process.stdout.write(
            table([
              ['id', 'name', 'source', 'token stored', 'schedule', 'next run', 'attention'],
              ...list.map((x) => [
                x.id,
                x.name,
                x.csvFolder ? `csv ${x.csvFolder}` : `clever ${x.cleverDistrictId ?? '-'}`,
                x.hasToken ? 'yes' : 'no',
                `${x.cron ?? '-'} ${x.timezone ?? ''}`,
                x.nextRun ?? '-',
                x.attention ? `NEEDS ATTENTION: ${x.attention}` : '-',
              ]),
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
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          const row = await store.districts.get(id);
          if (!row) throw new RostersyncError('not_found', `district ${id} does not exist`);
          const view = (await describeDistricts(store, config.service.timezone)).get(id);
          process.stdout.write(
            JSON.stringify(
              {
                id: row.id,
                name: row.name,
                cleverDistrictId: row.cleverDistrictId,
                csvFolder: view?.csvFolder ?? null,
                config: row.config,
                schedule: { cron: view?.cron, timezone: view?.timezone, nextRun: view?.nextRun },
                attention: view?.attention ?? null,
              },
              null,
              2,
            ) + '\n',
          );
        });
      }),
    );

  d.command('set <id> <settings...>')
    .description(
      'change settings, e.g. `studentKey=student_number safetyValve.maxPercent=10 contractedGrades=[09,10,11,12]` (values are YAML; `csvFolder=PATH` makes it a CSV district, `csvFolder=` a Clever one again)',
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
          const schedule: { cron?: string | null; timezone?: string | null } = {};
          let csvFolder: string | null | undefined;
          for (const s of settings) {
            const eq = s.indexOf('=');
            if (eq <= 0) throw new RostersyncError('input', `"${s}" is not key=value`);
            const key = s.slice(0, eq);
            // The schedule is kept apart from the sync settings (store/migrations/0007-service.ts).
            if (key === 'schedule.cron' || key === 'schedule.timezone') {
              schedule[key === 'schedule.cron' ? 'cron' : 'timezone'] = s.slice(eq + 1).trim() || null;
              continue;
            }
            // So is the drop folder (0008-csv-districts.ts); stored absolute, `serve` may run elsewhere.
            if (key === 'csvFolder') {
              const v = s.slice(eq + 1).trim();
              csvFolder = v ? resolve(v) : null;
              continue;
            }
            setPath(next, key, parseYaml(s.slice(eq + 1)) as unknown);
          }
          const parsed = districtConfigSchema.safeParse(next);
          if (!parsed.success) {
            throw new RostersyncError(
              'config',
              parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            );
          }
          if (Object.keys(schedule).length > 0) await setScheduleParts(store, id, schedule);
          if (csvFolder !== undefined) await store.service.setCsvFolder(id, csvFolder);
          await store.districts.setConfig(id, parsed.data);
          // Changed settings are what a district that needs attention waits for.
          await store.service.clearAttention(id);
          process.stdout.write(`district ${id}: settings saved\n`);
        });
      }),
    );

  d.command('add <id>')
    .description('register a district (it then runs on its schedule under `serve`)')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--name <name>', "display name (default: the id; the first sync sets Clever's name)")
    .option('--clever-district <id>', "Clever's district id (found by `districts discover`)")
    .option(
      '--csv-folder <path>',
      'a CSV district: `serve` imports the drops put in PATH/automated/ (instead of syncing from Clever)',
    )
    .option('--cron <expr>', 'schedule, a cron expression (default `30 1 * * *`: nightly at 01:30)')
    .option('--timezone <tz>', 'IANA zone of the schedule (default service.timezone, UTC)')
    .action(
      action(async (id, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          if (await store.districts.get(id))
            throw new RostersyncError('conflict', `district ${id} exists already`);
          if (opts.cron !== undefined || opts.timezone !== undefined)
            await setScheduleParts(store, id, {
              ...(opts.cron !== undefined ? { cron: opts.cron } : {}),
              ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
            });
          if (opts.csvFolder !== undefined && opts.cleverDistrict !== undefined)
            throw new RostersyncError(
              'input',
              'a district has one source: --csv-folder or --clever-district',
            );
          if (opts.csvFolder !== undefined) await store.service.setCsvFolder(id, resolve(opts.csvFolder));
          await store.districts.ensure(id, opts.name ?? id, opts.cleverDistrict ?? null);
          process.stdout.write(`district ${id}: added\n`);
        });
      }),
    );

  d.command('discover')
    .description(
      'register the districts that authorised the Clever app (clever.clientId / clever.clientSecret); prints those it added',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--clever-url <url>', 'Clever host (default https://api.clever.com)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts, { 'clever.url': opts.cleverUrl });
        await withStore(config, async ({ store }) => {
          const found = await discoverDistricts(store, config, () => resolveSecretBox(config));
          if (opts.json) return void process.stdout.write(JSON.stringify(found) + '\n');
          const added = found.filter((f) => f.added);
          for (const f of added)
            process.stdout.write(`added district ${f.id} (clever ${f.cleverDistrictId})\n`);
          process.stdout.write(
            `${found.length} districts authorised the app; ${added.length} added, ${found.length - added.length} known already\n`,
          );
        });
      }),
    );

  d.command('remove <id>')
    .description('remove a district that holds no synced data (never deletes synced records)')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (id, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          if (!(await store.districts.get(id)))
            throw new RostersyncError('not_found', `district ${id} does not exist`);
          if ((await store.runs.list({ district: id, limit: 1 })).length > 0)
            throw new RostersyncError('conflict', `district ${id} has synced data; it cannot be removed`);
          await store.service.removeDistrict(id);
          process.stdout.write(`district ${id}: removed\n`);
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
          await store.service.clearAttention(id);
          process.stdout.write(`district ${id}: token stored (encrypted)\n`);
        });
      }),
    );
}
