import { connect } from 'node:net';
import { RostersyncError } from '../shared/errors.js';

/**
 * Fails fast when the Clever host cannot be reached at all (refused, unknown host, no answer within
 * `timeoutMs`, default 5000): an interactive `sync` says so within seconds instead of spending its
 * retry budget (minutes) on a wrong URL. Scheduled runs skip this and keep their patient retries,
 * since an outage there is worth waiting out.
 */
export async function assertReachable(baseUrl: string, timeoutMs = 5000): Promise<void> {
  const url = new URL(baseUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, timeout: timeoutMs });
    const fail = (why: string): void => {
      socket.destroy();
      reject(
        new RostersyncError('upstream', `clever ${url.host}: cannot connect (${why}); check --clever-url`),
      );
    };
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}
