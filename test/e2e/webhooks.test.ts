import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  deliverUntilIdle,
  deliverWebhooks,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/accounts/webhooks.js';
import type { AccountChange } from '../../src/model/account.js';
import { startCleverSimulator } from '../../src/simulator/index.js';
import type { CleverSimulator } from '../../src/simulator/index.js';
import { SecretBox } from '../../src/store/secrets.js';
import { Store } from '../../src/store/store.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { syncSim } from '../helpers/sync.js';

it('signatures verify, and reject tampering, other secrets and stale timestamps', () => {
  const body = '{"seq":1}';
  const sig = signWebhook('s3cret', 1_800_000_000, body);
  const ok = { signature: sig, timestamp: '1800000000', body, nowSeconds: 1_800_000_010 };
  expect(verifyWebhookSignature('s3cret', ok)).toBe(true);
  expect(verifyWebhookSignature('other', ok)).toBe(false);
  expect(verifyWebhookSignature('s3cret', { ...ok, body: '{"seq":2}' })).toBe(false);
  expect(verifyWebhookSignature('s3cret', { ...ok, nowSeconds: 1_800_001_000 })).toBe(false);
  expect(verifyWebhookSignature('s3cret', { ...ok, signature: undefined })).toBe(false);
});

describeEachDatabase('webhooks', (dbs) => {
  let sim: CleverSimulator;
  let server: Server;
  let url: string;
  const received: Array<{ change: AccountChange; verified: boolean; acked: boolean }> = [];
  let failuresLeft = 2;

  beforeAll(async () => {
    sim = await startCleverSimulator({ seed: 5, students: 120 });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const verified = verifyWebhookSignature('hook-secret', {
          signature: req.headers['x-rostersync-signature'] as string | undefined,
          timestamp: req.headers['x-rostersync-timestamp'] as string | undefined,
          body,
        });
        const ack = failuresLeft-- <= 0;
        received.push({ change: JSON.parse(body) as AccountChange, verified, acked: ack });
        res.writeHead(ack ? 204 : 500).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await sim.close();
  });

  it('a receiver that fails twice then succeeds gets every change acknowledged once, in order', async () => {
    received.length = 0;
    failuresLeft = 2;
    const store = await Store.open({ location: await dbs.fresh() });
    const box = new SecretBox(Buffer.alloc(32, 1));
    try {
      await store.webhooks.add({ id: 'ep1', url, secret: 'hook-secret', cursor: 0 }, box);
      expect((await syncSim(store, sim)).status).toBe('succeeded');
      sim.advance(1);
      expect((await syncSim(store, sim)).status).toBe('succeeded');
      const feed = await store.changeFeed.after(0, { limit: 100_000 });
      expect(feed.length).toBeGreaterThan(100);

      let clock = Date.now();
      for (let round = 0; round < 50; round++) {
        await deliverWebhooks({ store, box, retryBaseMs: 10, batch: 40, now: () => new Date(clock) });
        clock += 60_000; // past any backoff
        const [ep] = await store.webhooks.list();
        if (ep!.cursor === feed[feed.length - 1]!.seq) break;
      }
      const [ep] = await store.webhooks.list();
      expect(ep!.cursor).toBe(feed[feed.length - 1]!.seq);
      expect(received.every((r) => r.verified)).toBe(true);
      // The first change was tried three times (two failures, then acknowledged); nothing got ahead of it.
      expect(received.slice(0, 3).map((r) => r.change.seq)).toEqual([
        feed[0]!.seq,
        feed[0]!.seq,
        feed[0]!.seq,
      ]);
      const acked = received.filter((r) => r.acked).map((r) => r.change.seq);
      expect(acked).toEqual(feed.map((c) => c.seq));
      expect(received.filter((r) => r.acked).map((r) => r.change)).toEqual(feed);
    } finally {
      await store.close();
    }
  });

  it('after a run, a receiver that is down costs one attempt, not a wait', async () => {
    let hits = 0;
    const down = createServer((_req, res) => {
      hits++;
      res.writeHead(503).end();
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const store = await Store.open({ location: await dbs.fresh() });
    const box = new SecretBox(Buffer.alloc(32, 2));
    try {
      const downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/hook`;
      await store.webhooks.add({ id: 'down', url: downUrl, secret: 's', cursor: 0 }, box);
      expect((await syncSim(store, sim)).status).toBe('succeeded');
      const r = await deliverUntilIdle({ store, box, deadlineMs: 60_000, retryBaseMs: 1000 });
      expect(r).toMatchObject({ delivered: 0, failed: 1, idle: false });
      expect(hits).toBe(1);
      const [ep] = await store.webhooks.list();
      expect(ep).toMatchObject({ cursor: 0, attempts: 1, lastError: 'HTTP 503' });
    } finally {
      await store.close();
      await new Promise<void>((r) => down.close(() => r()));
    }
  });
});
