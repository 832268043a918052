import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from '@commander-js/extra-typings';
import { deliverWebhooks } from '../../accounts/webhooks.js';
import { RostersyncError } from '../../shared/errors.js';
import { action, configFromFlags, resolveSecretBox, withStore } from '../context.js';
import { table } from '../render.js';

export function registerWebhooksCommand(program: Command): void {
  const wh = program.command('webhooks').description('POST every account change, signed, to your endpoints');

  wh.command('add <url>')
    .description('add an endpoint; prints its signing secret once')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--secret <secret>', 'signing secret (default: a new random one)')
    .option('--from-start', 'deliver the whole feed, not only changes from now on')
    .action(
      action(async (url, opts) => {
        if (!/^https?:\/\//.test(url))
          throw new RostersyncError('input', `webhook url must be http(s): ${url}`);
        const config = configFromFlags(opts);
        await withStore(config, async ({ store }) => {
          const box = resolveSecretBox(config);
          const secret = opts.secret ?? randomBytes(24).toString('base64url');
          const id = randomUUID();
          const cursor = opts.fromStart ? 0 : await store.changeFeed.lastSeq();
          await store.webhooks.add({ id, url, secret, cursor }, box);
          process.stdout.write(`webhook ${id} → ${url}\nsigning secret (shown once): ${secret}\n`);
        });
      }),
    );

  wh.command('list')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--json', 'print JSON')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await store.webhooks.list();
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          const last = await store.changeFeed.lastSeq();
          process.stdout.write(
            table([
              ['id', 'url', 'delivered up to', 'behind', 'attempts', 'last error'],
              ...list.map((e) => [e.id, e.url, e.cursor, last - e.cursor, e.attempts, e.lastError ?? '']),
            ]) + '\n',
          );
        });
      }),
    );

  wh.command('remove <id>')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .action(
      action(async (id, opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          if (!(await store.webhooks.remove(id)))
            throw new RostersyncError('not_found', `webhook ${id} does not exist`);
          process.stdout.write(`webhook ${id} removed\n`);
        });
      }),
    );

  wh.command('deliver')
    .description('deliver pending changes once (or keep delivering with --watch)')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--watch', 'keep running, polling for new changes')
    .option('--interval <ms>', 'poll interval with --watch (default 2000)', (v) => Number(v), 2000)
    .action(
      action(async (opts) => {
        const config = configFromFlags(opts);
        await withStore(config, async ({ store, logger }) => {
          const box = resolveSecretBox(config);
          let stop = false;
          process.once('SIGINT', () => (stop = true));
          process.once('SIGTERM', () => (stop = true));
          do {
            const r = await deliverWebhooks({ store, box, logger });
            if (r.delivered + r.failed > 0)
              logger.info({ delivered: r.delivered, failed: r.failed }, 'webhook round');
            if (!opts.watch) {
              process.stdout.write(`delivered ${r.delivered}, failed ${r.failed}\n`);
              break;
            }
            if (r.delivered === 0) await sleep(opts.interval);
          } while (!stop);
        });
      }),
    );
}
