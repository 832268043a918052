import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertReachable } from '../../src/sources/clever-reachable.js';
import { Store } from '../../src/store/store.js';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('start-up errors say what is wrong', () => {
  it('an unreachable PostgreSQL names the host and the cause', async () => {
    const port = await closedPort();
    await expect(Store.open({ location: `postgres://postgres@127.0.0.1:${port}/x` })).rejects.toThrow(
      new RegExp(`database: cannot open it: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`),
    );
  });

  it('a Clever host that refuses connections fails at once, naming it', async () => {
    const port = await closedPort();
    await expect(assertReachable(`http://127.0.0.1:${port}`)).rejects.toThrow(
      new RegExp(`clever 127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\)`),
    );
  });
});
