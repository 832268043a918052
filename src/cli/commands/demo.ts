import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Command } from '@commander-js/extra-typings';
import { startCleverSimulator } from '../../simulator/index.js';
import { isPostgresUrl } from '../../store/db.js';
import { syncFromClever } from '../../sync/clever-sync.js';
import { getStatus } from '../../sync/status.js';
import { createAdmin } from '../../accounts/admin-auth.js';
import type { CleverSimulator } from '../../simulator/index.js';
import { action, configFromFlags, withStore } from '../context.js';
import { setupLink } from './admins.js';
import { serveUntilStopped } from './serve.js';
import { renderReport, renderStatus } from '../render.js';

/** The vendor admin `demo --serve` signs in as. */
const DEMO_ADMIN = 'demo-admin@example.org';

/**
 * The simulator's Clever login page for the demo district, sending the chosen user back to our
 * Clever sign-in callback (`/auth/clever/callback`). A login that starts there carries no state of
 * ours, as one from the Clever portal does: it works in any browser.
 */
function studentSignInLink(sim: CleverSimulator, base: string): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: sim.clientId,
    redirect_uri: `${base}/auth/clever/callback`,
  });
  return `${sim.url}/oauth/authorize?${q.toString()}`;
}

/**
 * The port `--port 0` stands for, chosen before the server starts: the callback URL Clever sends
 * the browser to must name it, and sign-in is configured before the server listens.
 */
async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, resolve);
  });
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The address people open: `server.publicUrl`, else the listen address (localhost for a local one). */
function publicBase(publicUrl: string | undefined, host: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const name = ['127.0.0.1', '0.0.0.0', '::', '::1'].includes(host)
    ? 'localhost'
    : host.includes(':')
      ? `[${host}]`
      : host;
  return `http://${name}:${port}`;
}

/**
 * The demo's Clever sign-in key. No `sso.appUrl`: no assertion leaves the server, so a key per
 * process will do, and a demo on PostgreSQL needs no secretKey to keep a generated one.
 */
function demoSigningKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

/**
 * The demo: the whole job on the embedded default. Starts the built-in Clever simulator with a
 * seeded district, syncs it into a fresh SQLite file, lets one school day pass in the simulator
 * (enrolments, withdrawals, schedule changes), syncs again, and prints both reports and the status.
 * With `--serve` (`npm start`) it then keeps serving that database with the simulator running and
 * prints the admin web app's address, a one-time admin sign-in link and a demo student sign-in link.
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
    .option(
      '--serve',
      'then keep serving the demo database (the admin web app, runs on request) with the simulator running, until Ctrl-C; `npm start` does this',
    )
    .option(
      '--port <port>',
      'with --serve: HTTP port (default 8080; 0 = any free port)',
      (v) => Number(v),
      8080,
    )
    .option('--host <host>', 'with --serve: HTTP listen address (default 127.0.0.1)', '127.0.0.1')
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
            const ok = first.status === 'succeeded' && second.status === 'succeeded';
            if (!opts.serve) {
              out.write(
                `\nNext: \`./bin/rostersync.js status --database ${config.database}\`, ` +
                  `\`./bin/rostersync.js changes --database ${config.database}\`, or the tour in README.md\n`,
              );
              return ok ? 0 : 1;
            }
            const admin = await createAdmin(store, { email: DEMO_ADMIN, district: null });
            const port = opts.port === 0 ? await freePort(opts.host) : opts.port;
            const base = publicBase(run.server.publicUrl, opts.host, port);
            // Clever sign-in against the simulator, showing who signed in (no sso.appUrl).
            const { appUrl: _appUrl, ...sso } = run.sso;
            const served = {
              ...run,
              clever: {
                ...run.clever,
                oauthUrl: sim.url,
                clientId: sim.clientId,
                clientSecret: sim.clientSecret,
              },
              sso: {
                ...sso,
                redirectUri: `${base}/auth/clever/callback`,
                signingKey: sso.signingKey ?? demoSigningKey(),
              },
            };
            await serveUntilStopped(
              { store, config: served, logger },
              {
                port,
                host: opts.host,
                distributed: false,
                onListening: () => {
                  out.write(
                    `\n4. Serving the demo database until Ctrl-C.\n` +
                      `   Admin web app: ${base}/admin\n` +
                      `   One-time admin sign-in (${DEMO_ADMIN}, choose a password): ${setupLink(base, admin.setupToken)}\n` +
                      `   Sign in as a demo student through the simulator's Clever login page: ${studentSignInLink(sim, base)}\n`,
                  );
                },
              },
            );
            return ok ? 0 : 1;
          });
        } finally {
          await sim.close();
        }
      }),
    );
}
